// Package affinity places a mover pod on the node where the application already mounts a single-node volume.
package affinity
