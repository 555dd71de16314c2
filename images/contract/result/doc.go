// Package result is the JSON a mover writes to its termination message for the controller to
// read: part of the controller <-> mover contract, imported by both (dependency-free).
package result
