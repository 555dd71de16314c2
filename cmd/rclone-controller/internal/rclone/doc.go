// Package rclone is the rclone mover: it plugs spec.rclone into the shared reconcilers. A
// source pushes its point-in-time copy to an object store path, any number of destinations
// pull from it (1:many fan-out through a bucket); no Service, no generated Secret.
package rclone
