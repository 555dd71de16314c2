// Package statemachine drives one ReplicationSource or ReplicationDestination through
// Initial -> Synchronizing -> CleaningUp -> idle, with the state kept only in its status.
package statemachine
