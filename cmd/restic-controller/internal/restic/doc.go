// Package restic plugs the restic mover into the shared reconcilers: a source backs its
// point-in-time copy up to a restic repository, applies the retention policy and prunes on
// schedule; a destination restores a snapshot (the latest, an earlier one, or the newest as of
// a time). Both keep restic's cache on a PVC of their own.
package restic
