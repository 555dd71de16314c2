// Package restic holds the end-to-end tests of the restic mover on the local real cluster
// (build tag e2e; run by make e2e): sources back volumes up to restic repositories in a real S3
// server (versitygw, deployed in the cluster by e2e/internal/s3) or on a PVC, and destinations
// restore them: manual and continuous backups, Direct restores next to the application,
// temporary and cache volumes, copy triggers, long names, empty repositories, custom CAs,
// snapshot selection (previous, restoreAsOf), file deletion, privileged movers keeping
// ownership, and a backup whose mover was killed with the repository locked.
package restic
