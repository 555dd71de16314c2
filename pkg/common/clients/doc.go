// Package clients builds the controllers' client: owned object types are read from a cache
// that holds only objects VolSync created, everything else straight from the API server.
package clients
