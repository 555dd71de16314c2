// Package populator holds the end-to-end tests of the volume populator (cmd/populator) on the
// local cluster: PVCs whose dataSourceRef is a ReplicationDestination of the rsync-TLS and
// rclone movers, created before their destination (the GitOps restore pattern), and the
// lifetime of the snapshots they are restored from. Run with `go test -tags e2e`.
package populator
