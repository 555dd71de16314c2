// Command csi-hostpath is a test-only CSI driver that keeps volumes and snapshots as directories on the node.
package main
