// Package proc runs a mover's helper processes with line-by-line output handling and clean stops.
package proc
