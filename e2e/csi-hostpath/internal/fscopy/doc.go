// Package fscopy copies directory trees like `cp -a`, preserving modes, owners, times, symlinks and hard links.
package fscopy
