// Package naming builds the names and label values of the objects VolSync creates, shortened
// deterministically to Kubernetes' 63-character limit.
package naming
