// Package rclone is the rclone mover's part of the controller <-> mover contract: where the
// rclone configuration and the custom CA are mounted, the environment the controller sets, and
// the name of the metadata manifest the mover keeps beside the data in the bucket.
// Dependency-free, imported by cmd/rclone-controller and images/rclone.
package rclone
