// Package rsync holds the end-to-end tests of rsync (ssh) replication on the local real
// cluster (build tag e2e; run by make e2e): the shared scenarios of e2e/internal/scenario and
// this mover's generated ssh keys.
package rsync
