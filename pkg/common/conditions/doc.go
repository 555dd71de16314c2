// Package conditions computes the Synchronizing condition of ReplicationSources and
// ReplicationDestinations.
package conditions
