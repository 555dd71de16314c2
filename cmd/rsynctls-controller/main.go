// Command rsynctls-controller reconciles the ReplicationSources and ReplicationDestinations
// that use the rsync-over-TLS mover (spec.rsyncTLS) and ignores all others.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/rsynctls-controller/internal/rsynctls"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/reconcile"
)

// Defaults of the command-line flags.
const (
	defaultImage     = "quay.io/volsync-go/mover-rsync-tls:latest"
	leaderElectionID = "rsync-tls.volsync.backube"
	imageEnv         = "RSYNC_TLS_IMAGE"
)

// +kubebuilder:rbac:groups=volsync.backube,resources=replicationsources;replicationdestinations,verbs=get;list;watch
// +kubebuilder:rbac:groups=volsync.backube,resources=replicationsources/status;replicationdestinations/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch;update;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;update
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=get;list;watch;create;patch;update;delete
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotclasses,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	var (
		metricsAddr, probeAddr, image string
		leaderElect                   bool
		concurrency                   int
	)
	image = os.Getenv(imageEnv)
	if image == "" {
		image = defaultImage
	}
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the health and readiness probes")
	flag.BoolVar(&leaderElect, "leader-elect", false, "elect a leader so that only one replica reconciles")
	flag.StringVar(&image, "mover-image", image, "image of the rsync-TLS mover (env "+imageEnv+")")
	flag.IntVar(&concurrency, "max-concurrent-reconciles", 10, "reconciles run in parallel per kind")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, snapv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:        probeAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         clients.CacheOptions(),
		Client:                        client.Options{Cache: &client.CacheOptions{DisableFor: clients.UncachedTypes()}},
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	c, err := clients.NewSplit(mgr.GetClient(), mgr.GetAPIReader())
	if err != nil {
		return err
	}
	opts := reconcile.Options{
		Builder: rsynctls.Builder{Image: image}, Client: c, APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("volsync-rsync-tls"), Clock: clock.RealClock{}, Location: time.Local,
		MaxConcurrentReconciles: concurrency,
	}
	if err := reconcile.SetupSource(mgr, opts); err != nil {
		return fmt.Errorf("setting up the ReplicationSource controller: %w", err)
	}
	if err := reconcile.SetupDestination(mgr, opts); err != nil {
		return fmt.Errorf("setting up the ReplicationDestination controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	setupLog.Info("Starting rsync-TLS controller", "moverImage", image, "leaderElection", leaderElect)
	return mgr.Start(ctrl.SetupSignalHandler())
}
