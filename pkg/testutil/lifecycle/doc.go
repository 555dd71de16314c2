// Package lifecycle runs a mover controller against a real API server for its integration
// tests, the way it is deployed: its manager (app.NewManager, app.Setup) with a fake clock and
// exactly the RBAC of its kustomize component, while the test plays the controllers envtest
// lacks (PV binding, snapshots, Jobs and their pods, PVC protection, the garbage collector's
// part in foreground deletions). It holds the stand-ins, the polls and the metric reads, and
// the scenarios every Job-based mover must pass (lifecycles, failures, RBAC, quiet at rest),
// each taking the mover's own checks as a hook. A mover's test package calls Main from its
// TestMain with its Builder and component; nothing in here knows a mover.
package lifecycle
