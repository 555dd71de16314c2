// Package rclone holds the end-to-end tests of rclone replication on the local real cluster
// (build tag e2e; run by make e2e): a source pushes a volume through a bucket of a real S3
// server (versitygw, deployed in the cluster by e2e/internal/s3) and destinations pull it: a
// 1:3 fan-out with changes and deletions, a destination that starts before any source wrote,
// a user's destination PVC, a custom CA from a Secret and a ConfigMap, privileged movers
// keeping ownership, and the cleanup when the objects are deleted.
package rclone
