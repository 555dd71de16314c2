package rsynctls

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/reconcile"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// testImage is the mover image the controller under test puts in its Jobs.
const testImage = "localhost/mover-rsync-tls:test"

var (
	env      *testenv.Env
	k8s      client.Client // a direct client for the test's own reads and writes
	clk      *clocktesting.FakeClock
	registry *prometheus.Registry
	set      *metrics.Set
)

// TestMain starts a real API server and the rsync-TLS controller (with a fake clock, so
// schedules and backoff are driven by the tests) for the integration tests.
func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	k8s = env.Client
	if os.Getenv("TEST_CONTROLLER_LOGS") != "" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	}
	clk = clocktesting.NewFakeClock(time.Now().Truncate(time.Minute))
	registry = prometheus.NewRegistry()
	set = metrics.New(registry)

	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   clients.CacheOptions(),
		Client:  client.Options{Cache: &client.CacheOptions{DisableFor: clients.UncachedTypes()}},
	})
	if err != nil {
		return 0, err
	}
	c, err := clients.NewSplit(mgr.GetClient(), mgr.GetAPIReader())
	if err != nil {
		return 0, err
	}
	opts := reconcile.Options{
		Builder: Builder{Image: testImage}, Client: c, APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("volsync-rsync-tls"), Clock: clk, Location: time.UTC, Metrics: set,
	}
	if err := reconcile.SetupSource(mgr, opts); err != nil {
		return 0, err
	}
	if err := reconcile.SetupDestination(mgr, opts); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go releaseDeletedPVCs(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		return code, err
	}
	return code, nil
}

// pvcProtectionPoll is how often the stand-in for the PVC protection controller looks.
const pvcProtectionPoll = 200 * time.Millisecond

// releaseDeletedPVCs plays kube-controller-manager's PVC protection controller, which envtest
// lacks: it removes the protection finalizer of PVCs being deleted (no pod uses them here).
func releaseDeletedPVCs(ctx context.Context) {
	ticker := time.NewTicker(pvcProtectionPoll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		list := &corev1.PersistentVolumeClaimList{}
		if err := k8s.List(ctx, list); err != nil {
			continue
		}
		for i := range list.Items {
			pvc := &list.Items[i]
			if pvc.DeletionTimestamp == nil || len(pvc.Finalizers) == 0 {
				continue
			}
			patch := client.MergeFrom(pvc.DeepCopy())
			pvc.Finalizers = nil
			_ = k8s.Patch(ctx, pvc, patch)
		}
	}
}
