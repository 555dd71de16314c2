// Package s3test runs a real S3 server (versitygw, posix backend) on loopback for the tests of
// the movers that talk to an object store: plain HTTP or HTTPS with a generated CA, buckets, and
// rclone.conf sections pointing at it.
package s3test
