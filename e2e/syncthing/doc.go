// Package syncthing holds the end-to-end tests of the Syncthing mover on the local real cluster
// (build tag e2e; run by make e2e): ReplicationSources in separate namespaces keep their
// volumes in sync with each other through always-running syncthing Deployments, peered from
// each other's status.syncthing.{ID,address}: three peers in a full mesh (writes, changes and
// deletions from every side, unprivileged movers, metrics, every mover pod killed at once),
// an introducer, names longer than 63 characters, privileged movers keeping ownership, pausing
// and resuming one side, and the errors of a peer list naming the node itself or a malformed
// device ID.
package syncthing
