// Package treesum computes a digest of a directory tree (names, types, modes, owners, times, contents, links) for tests.
package treesum
