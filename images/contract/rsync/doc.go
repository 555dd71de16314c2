// Package rsync is the contract between the rsync (ssh) controller (cmd/rsync-controller) and
// its mover image (images/rsync): the key Secret's keys, ports, the login name and the commands
// the destination accepts. The shared names (mount paths, DESTINATION_ADDRESS, ...) are in
// images/contract/mover.
package rsync
