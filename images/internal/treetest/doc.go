// Package treetest builds directory trees with every kind of entry a mover must carry and checks that a copy is faithful (tests of the mover images only).
package treetest
