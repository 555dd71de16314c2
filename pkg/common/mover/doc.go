// Package mover defines how a data mover plugs into the shared reconcilers: a Builder that
// recognises its method block and a Mover that synchronizes and cleans up one object.
package mover
