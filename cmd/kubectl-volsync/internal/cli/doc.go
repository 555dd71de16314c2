// Package cli is the command tree of kubectl-volsync ("kubectl volsync ..."): flags, their
// defaults (the reference's) and validation, wired to the replication and migration packages.
package cli
