// Package reconcile holds the ReplicationSource and ReplicationDestination reconcilers that
// every mover controller shares; a controller plugs in one mover.Builder.
package reconcile
