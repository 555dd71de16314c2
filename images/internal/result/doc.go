// Package result is the JSON a mover writes to its termination message for the controller to read.
package result
