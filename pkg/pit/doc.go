// Package pit makes the point-in-time copies a mover reads and the destination volumes and images it writes.
package pit
