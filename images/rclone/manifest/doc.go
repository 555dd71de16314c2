// Package manifest records what an object store does not keep of a volume (directories,
// symlinks, modes, ownership, ACLs, extended attributes, times) and restores it: a source walks
// its volume into a Manifest, a destination prepares its volume for rclone and applies the
// Manifest after rclone copied the regular files' contents (images/rclone/README.md).
package manifest
