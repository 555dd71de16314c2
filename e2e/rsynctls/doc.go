// Package rsynctls holds the end-to-end tests of rsync-TLS replication on the local real
// cluster (build tag e2e; run by make e2e): the shared scenarios of e2e/internal/scenario and
// the pre-shared key and moverSecurityContext cases of this mover.
package rsynctls
