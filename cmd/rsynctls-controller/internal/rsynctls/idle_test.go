package rsynctls

import "testing"

// TestIdleReconcileMakesNoRequest: once a synchronization's Job exists, a reconcile with
// nothing to do makes no API request (lifecycle.Harness.IdleReconcileMakesNoRequest).
func TestIdleReconcileMakesNoRequest(t *testing.T) { h.IdleReconcileMakesNoRequest(t) }
