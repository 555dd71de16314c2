// Package replication implements "kubectl volsync replication": a relationship between a
// source PVC and a ReplicationDestination (possibly on another cluster) connected by the rsync
// (ssh) mover, set up from the relationship file and kept in sync on a schedule or on demand.
package replication
