// Package replication holds the end-to-end tests of rsync-TLS replication on the local real
// cluster (build tag e2e; run by make e2e).
package replication
