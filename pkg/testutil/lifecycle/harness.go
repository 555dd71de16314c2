package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/app"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/reconcile"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// LogsEnv, when set, sends the controller's logs to stderr.
const LogsEnv = "TEST_CONTROLLER_LOGS"

// Config describes the mover controller under test.
type Config struct {
	// Builder is the mover (with the image its Jobs must run).
	Builder mover.Builder
	// Component is the controller's directory under deploy/kustomize/components: its
	// ServiceAccount, ClusterRole, leader-election Role and bindings are applied, and the
	// controller runs as that ServiceAccount with nothing more.
	Component string
	// SourceBlock sets the mover's block of rs: the volume options vol, and whatever else a
	// source of this mover needs to synchronize (an address, ...).
	SourceBlock func(rs *v1alpha1.ReplicationSource, vol v1alpha1.ReplicationSourceVolumeOptions)
	// DestinationBlock sets the mover's block of rd with the volume options vol.
	DestinationBlock func(rd *v1alpha1.ReplicationDestination, vol v1alpha1.ReplicationDestinationVolumeOptions)
	// Prepare, when set, makes what every object of this mover needs in a new test namespace
	// (rclone: its configuration Secret), with the test's client.
	Prepare func(t *testing.T, c client.Client, ns string)
	// UserReads are the user's objects, other than the data, every synchronization of this
	// mover reads live (paths below the namespace, e.g. "secrets/rclone-config").
	UserReads []string
	// ProvisionedSuffix ends the name of a provisioned destination PVC, volsync-<rd>-<suffix>
	// (jobmover.Kind.ProvisionedSuffix; default "dst").
	ProvisionedSuffix string
	// PlainJobNames: the mover's Jobs are volsync-<src|dst>-<obj> (jobmover.Kind.PlainJobNames).
	PlainJobNames bool
	// Kinds are the controller's own kinds (app.Controller.Kinds).
	Kinds []kinds.Kind
}

// Harness is a running API server with the controller under test.
type Harness struct {
	Config
	Env *testenv.Env
	// Client is the test's own client (administrator): its reads are live.
	Client client.Client
	// Controller is the controller's own client (its cache), for waiting until the controller
	// can see something.
	Controller *clients.Split
	// Clock is the controller's clock: schedules, backoff and timeouts follow it.
	Clock *clocktesting.FakeClock
	// Registry holds the controller's metrics.
	Registry *prometheus.Registry
	// Deployed is the controller's identity: the component's ServiceAccount.
	Deployed *rest.Config
	// ControllerNamespace and ServiceAccount name that identity.
	ControllerNamespace, ServiceAccount string
}

// Main is a mover test package's TestMain body: it starts the API server and the controller
// into *h, runs the tests, stops both and exits.
func Main(m *testing.M, cfg Config, h **Harness) {
	code, err := run(m, cfg, h)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(m *testing.M, cfg Config, out **Harness) (int, error) {
	if cfg.Builder == nil || cfg.Component == "" || cfg.SourceBlock == nil || cfg.DestinationBlock == nil {
		return 1, errors.New("lifecycle.Config needs every field")
	}
	if os.Getenv(LogsEnv) != "" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		logf.SetLogger(logr.Discard())
	}
	env, err := testenv.Start()
	if err != nil {
		return 1, err
	}
	defer func() { _ = env.Stop() }()
	h := &Harness{
		Config: cfg, Env: env, Client: env.Client,
		Clock:    clocktesting.NewFakeClock(time.Now().Truncate(time.Minute)),
		Registry: prometheus.NewRegistry(),
	}
	if err := h.deploy(); err != nil {
		return 1, err
	}
	mgr, c, err := app.NewManager(h.Deployed, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	}, cfg.Kinds...)
	if err != nil {
		return 1, err
	}
	h.Controller = c
	if err := app.Setup(mgr, reconcile.Options{
		Builder: cfg.Builder, Client: c, APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("volsync-" + cfg.Builder.Name()), Clock: h.Clock, Location: time.UTC,
		Metrics: metrics.New(h.Registry),
	}, cfg.Kinds...); err != nil {
		return 1, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go h.finishDeletions(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	*out = h
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		return code, err
	}
	return code, nil
}

// ComponentDir is the directory of a controller's kustomize component.
func ComponentDir(root, component string) string {
	return filepath.Join(root, "deploy", "kustomize", "components", component)
}

// JobName is the name of the mover Job (and destination Service) of obj on side role.
func (h *Harness) JobName(role naming.Role, obj string) string {
	if h.PlainJobNames {
		return naming.Job("", role, obj)
	}
	return naming.Job(h.Builder.Name(), role, obj)
}

// standInPoll is how often the stand-ins for kube-controller-manager's controllers look.
const standInPoll = 200 * time.Millisecond

// finishDeletions plays two controllers of kube-controller-manager that envtest lacks: the PVC
// protection controller (it removes the protection finalizer of PVCs being deleted; no pod
// uses them here) and the garbage collector finishing a foreground deletion of a Job (the
// pods of these tests are not owned, so it just removes the Job's finalizer).
func (h *Harness) finishDeletions(ctx context.Context) {
	ticker := time.NewTicker(standInPoll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for _, list := range []client.ObjectList{&corev1.PersistentVolumeClaimList{}, &batchv1.JobList{}} {
			if err := h.Client.List(ctx, list); err != nil {
				continue
			}
			_ = meta.EachListItem(list, func(o runtime.Object) error {
				obj, ok := o.(client.Object)
				if !ok || obj.GetDeletionTimestamp() == nil || len(obj.GetFinalizers()) == 0 {
					return nil
				}
				patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
				obj.SetFinalizers(nil)
				_ = h.Client.Patch(ctx, obj, patch)
				return nil
			})
		}
	}
}
