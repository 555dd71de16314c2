// Package s3 runs a real S3 server (versitygw, posix backend) in the local cluster for the
// e2e suites of the object-store movers: plain HTTP or HTTPS with a CA generated in Go, random
// root credentials, buckets, and the rclone configuration Secret that points a mover at it.
package s3
