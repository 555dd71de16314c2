// Package v1alpha1 holds the volsync.backube/v1alpha1 API: ReplicationSource and ReplicationDestination.
//
// +kubebuilder:object:generate=true
// +groupName=volsync.backube
package v1alpha1
