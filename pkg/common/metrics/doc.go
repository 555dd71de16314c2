// Package metrics exports the per-object Prometheus metrics of VolSync: missed intervals,
// sync duration and out-of-sync state, labelled by object, role and method.
package metrics
