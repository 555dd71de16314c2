// Package driver implements the CSI Identity, Controller and Node services over directories on the node.
package driver
