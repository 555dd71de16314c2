// Package rsync is the rsync (ssh) mover of the rsync-controller: spec.rsync of
// ReplicationSources and ReplicationDestinations. The source's Job pushes its point-in-time
// copy with rsync over ssh to the destination's Job, an unprivileged sshd that only lets the
// source's key run an rsync server into the data volume and a shutdown command. Keys are
// ed25519, generated in the controller (crypto/rand) unless the user names a Secret.
package rsync
