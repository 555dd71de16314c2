// Package kinds is the one list of the object kinds VolSync creates, from which the caches, the
// client, the watches and the cleanup of an iteration's temporaries are derived.
package kinds
