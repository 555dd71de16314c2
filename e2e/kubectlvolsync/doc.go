// Package kubectlvolsync holds the end-to-end tests of the kubectl plugin (build tag e2e; run
// by make e2e): the CLI binary, built from cmd/kubectl-volsync, run as a user runs it against
// the local real cluster, for replication between two namespaces, migration of a local
// directory into a PVC, and its errors.
package kubectlvolsync
