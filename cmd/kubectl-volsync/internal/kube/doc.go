// Package kube connects the CLI to the clusters of the kubeconfig (one client per context),
// and holds what the commands share: the relationship label, polling with a deadline and a
// progress line, and undoing what a failed command created.
package kube
