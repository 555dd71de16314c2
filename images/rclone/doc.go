// Command volsync-rclone is the rclone mover's entrypoint: a source uploads its volume to an
// object store with rclone and a manifest of what object stores do not keep; a destination
// downloads it and restores the rest from the manifest (contract: README.md).
package main
