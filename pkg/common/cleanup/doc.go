// Package cleanup deletes the temporary objects of a synchronization once it is over.
package cleanup
