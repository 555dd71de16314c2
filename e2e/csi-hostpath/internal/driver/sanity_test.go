package driver_test

import (
	"path/filepath"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
)

// TestSanity runs the kubernetes-csi sanity suite (Identity, Controller, Node and snapshot
// conformance) against the driver on a temporary unix socket. NodePublishVolume bind-mounts,
// so the Node tests need root; without root they fail rather than pretend.
func TestSanity(t *testing.T) {
	requireRoot(t)
	tmp := t.TempDir()
	_, endpoint := startDriver(t, filepath.Join(tmp, "data"))

	cfg := sanity.NewTestConfig()
	cfg.Address = endpoint
	cfg.TargetPath = filepath.Join(tmp, "target")
	cfg.StagingPath = filepath.Join(tmp, "staging")
	cfg.TestVolumeSize = 64 << 20
	cfg.IdempotentCount = 3
	sanity.Test(t, cfg)
}
