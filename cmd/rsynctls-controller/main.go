// Command rsynctls-controller reconciles the ReplicationSources and ReplicationDestinations
// that use the rsync-over-TLS mover (spec.rsyncTLS) and ignores all others.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/rsynctls-controller/internal/rsynctls"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/rbac"
	"github.com/volsync-go/volsync/pkg/common/reconcile"
)

// Defaults of the command-line flags.
const (
	defaultImage     = "quay.io/volsync-go/mover-rsync-tls:latest"
	leaderElectionID = "rsync-tls.volsync.backube"
	imageEnv         = "RSYNC_TLS_IMAGE"
	// namespaceEnv is the controller's namespace (downward API in the Deployment): where the
	// leader-election lease lives and where the originals of the mover pull Secrets are.
	namespaceEnv = "VOLSYNC_NAMESPACE"
	// inClusterNamespaceFile is the fallback when namespaceEnv is not set.
	inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
	defaultMetricsAddr     = ":8443"
	// defaultConcurrency reconciles per kind keep two API server cores busy at start-up;
	// more only add memory (docs/control-plane.md, bench/scale).
	defaultConcurrency = 20
	// defaultGCPercent is the Go GC target unless GOGC is set: the heap is mostly the caches,
	// and half the default headroom keeps the peak RSS about 15% lower at start-up for no
	// measurable time (bench/scale).
	defaultGCPercent = 50
	// defaultQPS and defaultBurst: no client-side rate limit, as controller-runtime; every
	// reconcile that has nothing to do makes no request, so a controller's steady traffic is
	// tiny, and the start-up burst is bounded by the concurrency above and the API server's
	// priority and fairness.
	defaultQPS   = -1
	defaultBurst = 0
)

// The ClusterRole (deploy/kustomize/components/rsync-tls/rbac/role.yaml, `make manifests`)
// holds exactly what the code uses; rbac_test.go in internal/rsynctls runs the controller with
// it. Every Pod is watched (stripped to what placing a Direct mover needs); VolSync's own
// ServiceAccounts are cached like its other objects. No Role or RoleBinding is made for movers.
// +kubebuilder:rbac:groups=volsync.backube,resources=replicationsources;replicationdestinations,verbs=get;list;watch
// +kubebuilder:rbac:groups=volsync.backube,resources=replicationsources/status;replicationdestinations/status,verbs=get;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotclasses,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// The metrics endpoint asks the API server who a scraper is and whether it may get /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// Leader election: a Role in the controller's namespace only (client-go's lease lock and its
// core/v1 event recorder).
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=volsync-system,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=volsync-system,resources=events,verbs=create;patch

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// flags are the command line (and the environment it falls back to).
type flags struct {
	metricsAddr, probeAddr, image string
	metricsSecure, enableHTTP2    bool
	metricsCertPath               string
	metricsCertName               string
	metricsCertKey                string
	pullSecrets                   string
	leaderElect                   bool
	concurrency                   int
	qps                           float32
	burst                         int
	pprofAddr                     string
}

func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) (flags, error) {
	f := flags{image: getenv(imageEnv)}
	if f.image == "" {
		f.image = defaultImage
	}
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", defaultMetricsAddr, "address of the Prometheus metrics endpoint (0 disables it)")
	fs.BoolVar(&f.metricsSecure, "metrics-secure", true,
		"serve metrics over HTTPS to authenticated and authorized clients only (false: plain HTTP, for local use)")
	fs.StringVar(&f.metricsCertPath, "metrics-cert-path", "", "directory of the metrics server certificate (default: a self-signed one)")
	fs.StringVar(&f.metricsCertName, "metrics-cert-name", "tls.crt", "certificate file name in --metrics-cert-path")
	fs.StringVar(&f.metricsCertKey, "metrics-cert-key", "tls.key", "key file name in --metrics-cert-path")
	fs.BoolVar(&f.enableHTTP2, "enable-http2", false, "allow HTTP/2 on the metrics server (off: CVE-2023-44487, CVE-2023-39325)")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of the health and readiness probes")
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader so that only one replica reconciles (lease in $"+namespaceEnv+")")
	fs.StringVar(&f.image, "mover-image", f.image, "image of the rsync-TLS mover (env "+imageEnv+")")
	fs.StringVar(&f.pullSecrets, "mover-image-pull-secrets", "",
		"comma-separated image pull Secrets in the controller's namespace, copied for the mover ServiceAccounts")
	fs.IntVar(&f.concurrency, "max-concurrent-reconciles", defaultConcurrency,
		"reconciles run in parallel per kind (ReplicationSources, ReplicationDestinations)")
	qps := fs.Float64("kube-api-qps", defaultQPS,
		"client-side limit of API requests per second (negative: none; the API server's priority and fairness protects it)")
	fs.IntVar(&f.burst, "kube-api-burst", defaultBurst, "client-side burst above --kube-api-qps (ignored when the limit is off)")
	fs.StringVar(&f.pprofAddr, "pprof-bind-address", "", "address of the Go profiling endpoints /debug/pprof (empty: off)")
	err := fs.Parse(args)
	f.qps = float32(*qps)
	if f.qps > 0 && f.burst < 1 {
		f.burst = max(1, int(2*f.qps)) // client-go refuses a limit without a burst
	}
	return f, err
}

// metricsOptions serves metrics over HTTPS behind TokenReview/SubjectAccessReview (scrapers
// need the volsync-metrics-reader ClusterRole), or over plain HTTP when secure is off.
func metricsOptions(f flags) metricsserver.Options {
	o := metricsserver.Options{BindAddress: f.metricsAddr, SecureServing: f.metricsSecure}
	if !f.metricsSecure {
		return o
	}
	o.FilterProvider = filters.WithAuthenticationAndAuthorization
	o.CertDir, o.CertName, o.KeyName = f.metricsCertPath, f.metricsCertName, f.metricsCertKey
	if !f.enableHTTP2 {
		o.TLSOpts = append(o.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	return o
}

// controllerNamespace is the namespace the controller runs in ("" when unknown: outside a
// cluster without VOLSYNC_NAMESPACE).
func controllerNamespace(getenv func(string) string, readFile func(string) ([]byte, error)) string {
	if ns := getenv(namespaceEnv); ns != "" {
		return ns
	}
	b, err := readFile(inClusterNamespaceFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func run() error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	f, err := parseFlags(flag.CommandLine, os.Args[1:], os.Getenv)
	if err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")
	namespace := controllerNamespace(os.Getenv, os.ReadFile)
	pull := rbac.ParsePullSecrets(namespace, f.pullSecrets)
	if len(pull.Names) > 0 && namespace == "" {
		return fmt.Errorf("--mover-image-pull-secrets needs the controller's namespace: set %s", namespaceEnv)
	}

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, snapv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = f.qps, f.burst
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOptions(f),
		HealthProbeBindAddress:        f.probeAddr,
		PprofBindAddress:              f.pprofAddr,
		LeaderElection:                f.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       namespace,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         clients.CacheOptions(),
		Client:                        clients.ClientOptions(),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	c, err := clients.New(context.Background(), mgr)
	if err != nil {
		return err
	}
	opts := reconcile.Options{
		Builder: rsynctls.Builder{Image: f.image}, Client: c, APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("volsync-rsync-tls"), Clock: clock.RealClock{}, Location: time.Local,
		MaxConcurrentReconciles: f.concurrency,
		// The proxy environment is read once; rsync-TLS talks only to its peer and ignores it,
		// the movers that talk to the outside put it into their Job (jobs.Spec).
		PullSecrets: pull, ProxyEnv: jobs.ProxyEnv(os.Getenv),
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
	setupLog.Info("Starting rsync-TLS controller", "moverImage", f.image, "leaderElection", f.leaderElect,
		"namespace", namespace, "metricsSecure", f.metricsSecure, "moverImagePullSecrets", pull.Names)
	return mgr.Start(ctrl.SetupSignalHandler())
}
