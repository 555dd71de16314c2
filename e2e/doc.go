// Package e2e holds the end-to-end tests that run against the local real cluster
// (make cluster-up, see docs/local-cluster.md); they build only with the e2e tag.
package e2e
