package rsynctls

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/volsync-go/volsync/pkg/common/app"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/reconcile"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// testImage is the mover image the controller under test puts in its Jobs.
const testImage = "localhost/mover-rsync-tls:test"

var (
	// controllerClient is the controller's own client (its cache), for tests that must wait
	// until the controller can see something (an application pod it places a mover next to).
	controllerClient *clients.Split
	env              *testenv.Env
	k8s              client.Client // a direct client for the test's own reads and writes
	clk              *clocktesting.FakeClock
	registry         *prometheus.Registry
	set              *metrics.Set
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

	// The controller runs with exactly the deployed RBAC (rbac_test.go).
	controllerConfig, err := asDeployed(env)
	if err != nil {
		return 0, err
	}
	mgr, c, err := app.NewManager(controllerConfig, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return 0, err
	}
	controllerClient = c
	if err := app.Setup(mgr, reconcile.Options{
		Builder: Builder{Image: testImage}, Client: c, APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("volsync-rsync-tls"), Clock: clk, Location: time.UTC, Metrics: set,
	}); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go finishDeletions(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		return code, err
	}
	return code, nil
}

// standInPoll is how often the stand-ins for kube-controller-manager's controllers look.
const standInPoll = 200 * time.Millisecond

// finishDeletions plays two controllers of kube-controller-manager that envtest lacks: the PVC
// protection controller (it removes the protection finalizer of PVCs being deleted; no pod
// uses them here) and the garbage collector finishing a foreground deletion of a Job (the
// pods of these tests are not owned, so it just removes the Job's finalizer).
func finishDeletions(ctx context.Context) {
	ticker := time.NewTicker(standInPoll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for _, list := range []client.ObjectList{&corev1.PersistentVolumeClaimList{}, &batchv1.JobList{}} {
			if err := k8s.List(ctx, list); err != nil {
				continue
			}
			_ = meta.EachListItem(list, func(o runtime.Object) error {
				obj, ok := o.(client.Object)
				if !ok || obj.GetDeletionTimestamp() == nil || len(obj.GetFinalizers()) == 0 {
					return nil
				}
				patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
				obj.SetFinalizers(nil)
				_ = k8s.Patch(ctx, obj, patch)
				return nil
			})
		}
	}
}
