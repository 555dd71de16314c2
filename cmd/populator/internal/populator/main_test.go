package populator

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/volsync-go/volsync/pkg/deploytests"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// env is the test control plane; the populator runs in it as deployed (the ClusterRole of
// deploy/kustomize/components/populator, by impersonating its ServiceAccount). No
// kube-controller-manager runs: the tests play the provisioner and the PV binder.
var env *testenv.Env

// writes counts the populator's writes per namespace (quiet at rest; the tests run in parallel).
var writes *countingClient

type countingClient struct {
	client.Client
	mu   sync.Mutex
	byNS map[string]int
}

func (c *countingClient) count(obj client.Object) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byNS[obj.GetNamespace()]++
}

// Writes returns the number of writes in namespace ns.
func (c *countingClient) Writes(ns string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byNS[ns]
}

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.count(obj)
	return c.Client.Create(ctx, obj, opts...)
}

func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.count(obj)
	return c.Client.Update(ctx, obj, opts...)
}

func (c *countingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	c.count(obj)
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	c.count(obj)
	return c.Client.Delete(ctx, obj, opts...)
}

// registration is the populator's; TestRegistration installs the VolumePopulator CRD.
var registration *Registration

func TestMain(m *testing.M) {
	if os.Getenv("TEST_CONTROLLER_LOGS") == "" {
		logf.SetLogger(logr.Discard())
	}
	e, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test control plane:", err)
		os.Exit(1)
	}
	env = e
	ctx, cancel := context.WithCancel(context.Background())
	if err := startPopulator(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		cancel()
		_ = e.Stop()
		os.Exit(1)
	}
	code := m.Run()
	cancel()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the test control plane:", err)
	}
	os.Exit(code)
}

func startPopulator(ctx context.Context) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	cfg, err := deploytests.AsDeployed(ctx, env.Client, env.Config, deploytests.OverlayDir(root, "populator"),
		"volsync-system", "volsync-populator")
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: env.Scheme, Cache: CacheOptions(), Client: ClientOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return err
	}
	writes = &countingClient{Client: mgr.GetClient(), byNS: map[string]int{}}
	registration = &Registration{Client: mgr.GetClient(), Mapper: mgr.GetRESTMapper()}
	if err := mgr.Add(registration); err != nil {
		return err
	}
	r := &Reconciler{Client: writes, Scheme: env.Scheme, Recorder: mgr.GetEventRecorder(Name), Registration: registration}
	if err := r.SetupWithManager(mgr, 4); err != nil {
		return err
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "populator stopped:", err)
		}
	}()
	sync, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !mgr.GetCache().WaitForCacheSync(sync) {
		return fmt.Errorf("the populator's cache did not sync")
	}
	return nil
}
