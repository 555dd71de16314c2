// Package restic is the restic mover's part of the controller <-> mover contract: the actions
// a Job runs, where the cache, the custom CA and the GCS credentials are mounted, the
// environment the controller sets, the exit code of failures the user must fix, and the keys
// of the mover's result details. Dependency-free, imported by cmd/restic-controller and
// images/restic.
package restic
