// Package migration implements "kubectl volsync migration": copying a directory of the
// workstation into a PVC through a ReplicationDestination of the rsync (ssh) mover, as often
// as needed (each run sends only the changes).
package migration
