package app

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/rbac"
	"github.com/volsync-go/volsync/pkg/common/reconcile"
)

// Controller describes one mover controller binary.
type Controller struct {
	// Name is the mover's name (e.g. "rsync-tls"): the events come from volsync-<Name> and the
	// leader-election lease is <Name>.volsync.backube.
	Name string
	// DefaultImage is the mover image unless ImageEnv or --mover-image says otherwise.
	DefaultImage string
	// ImageEnv is the variable that overrides DefaultImage (e.g. RSYNC_TLS_IMAGE).
	ImageEnv string
	// Builder returns the mover's Builder for the mover image in use.
	Builder func(image string) mover.Builder
	// Kinds are the kinds this controller creates besides kinds.Owned (kinds.Deployment for a
	// steady mover): cached, watched and granted in its ClusterRole only.
	Kinds []kinds.Kind
}

// Defaults of the command-line flags.
const (
	// NamespaceEnv is the controller's namespace (downward API in the Deployment): where the
	// leader-election lease lives and where the originals of the mover pull Secrets are.
	NamespaceEnv = "VOLSYNC_NAMESPACE"
	// inClusterNamespaceFile is the fallback when NamespaceEnv is not set.
	inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
	defaultMetricsAddr     = ":8443"
	// defaultConcurrency reconciles per kind keep two API server cores busy at start-up;
	// more only add memory (docs/control-plane.md, bench/scale).
	defaultConcurrency = 20
	// defaultQPS and defaultBurst: no client-side rate limit, as controller-runtime; every
	// reconcile that has nothing to do makes no request, so a controller's steady traffic is
	// tiny, and the start-up burst is bounded by the concurrency above and the API server's
	// priority and fairness.
	defaultQPS   = -1
	defaultBurst = 0
	// defaultGCPercent is the Go GC target unless GOGC is set: the heap is mostly the caches,
	// and half the default headroom keeps the peak RSS about 15% lower at start-up for no
	// measurable time (bench/scale).
	defaultGCPercent = 50
)

// Flags are the command line (and the environment it falls back to).
type Flags struct {
	MetricsAddr, ProbeAddr, Image string
	MetricsSecure, EnableHTTP2    bool
	MetricsCertPath               string
	MetricsCertName               string
	MetricsCertKey                string
	PullSecrets                   string
	LeaderElect                   bool
	Concurrency                   int
	QPS                           float32
	Burst                         int
	PprofAddr                     string
}

// ParseFlags reads args into Flags; getenv supplies c.ImageEnv.
func (c Controller) ParseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) (Flags, error) {
	f := Flags{Image: getenv(c.ImageEnv)}
	if f.Image == "" {
		f.Image = c.DefaultImage
	}
	finish := BindManagerFlags(fs, &f, "reconciles run in parallel per kind (ReplicationSources, ReplicationDestinations)")
	fs.StringVar(&f.Image, "mover-image", f.Image, "image of the "+c.Name+" mover (env "+c.ImageEnv+")")
	fs.StringVar(&f.PullSecrets, "mover-image-pull-secrets", "",
		"comma-separated image pull Secrets in the controller's namespace, copied for the mover ServiceAccounts")
	err := fs.Parse(args)
	finish()
	return f, err
}

// BindManagerFlags binds the flags of every VolSync process that runs a controller manager
// (metrics, probes, leader election, concurrency, API client limits, profiling) to f; call the
// returned function after fs.Parse. concurrency is the help text of --max-concurrent-reconciles.
func BindManagerFlags(fs *flag.FlagSet, f *Flags, concurrency string) (finish func()) {
	fs.StringVar(&f.MetricsAddr, "metrics-bind-address", defaultMetricsAddr, "address of the Prometheus metrics endpoint (0 disables it)")
	fs.BoolVar(&f.MetricsSecure, "metrics-secure", true,
		"serve metrics over HTTPS to authenticated and authorized clients only (false: plain HTTP, for local use)")
	fs.StringVar(&f.MetricsCertPath, "metrics-cert-path", "", "directory of the metrics server certificate (default: a self-signed one)")
	fs.StringVar(&f.MetricsCertName, "metrics-cert-name", "tls.crt", "certificate file name in --metrics-cert-path")
	fs.StringVar(&f.MetricsCertKey, "metrics-cert-key", "tls.key", "key file name in --metrics-cert-path")
	fs.BoolVar(&f.EnableHTTP2, "enable-http2", false, "allow HTTP/2 on the metrics server (off: CVE-2023-44487, CVE-2023-39325)")
	fs.StringVar(&f.ProbeAddr, "health-probe-bind-address", ":8081", "address of the health and readiness probes")
	fs.BoolVar(&f.LeaderElect, "leader-elect", false, "elect a leader so that only one replica reconciles (lease in $"+NamespaceEnv+")")
	fs.IntVar(&f.Concurrency, "max-concurrent-reconciles", defaultConcurrency, concurrency)
	qps := fs.Float64("kube-api-qps", defaultQPS,
		"client-side limit of API requests per second (negative: none; the API server's priority and fairness protects it)")
	fs.IntVar(&f.Burst, "kube-api-burst", defaultBurst, "client-side burst above --kube-api-qps (ignored when the limit is off)")
	fs.StringVar(&f.PprofAddr, "pprof-bind-address", "", "address of the Go profiling endpoints /debug/pprof (empty: off)")
	return func() {
		f.QPS = float32(*qps)
		if f.QPS > 0 && f.Burst < 1 {
			f.Burst = max(1, int(2*f.QPS)) // client-go refuses a limit without a burst
		}
	}
}

// AddProbes serves the liveness (/healthz) and readiness (/readyz) probes of a manager.
func AddProbes(mgr ctrl.Manager) error {
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("readyz", healthz.Ping)
}

// RestConfig is the kubeconfig (controller-runtime's --kubeconfig, in-cluster otherwise) with
// the client-side rate limit of the flags.
func (f Flags) RestConfig() (*rest.Config, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = f.QPS, f.Burst
	return cfg, nil
}

// ManagerOptions are a manager's options from the flags: metrics, probes, profiling and leader
// election with the lease <name>.volsync.backube in namespace.
func (f Flags) ManagerOptions(scheme *runtime.Scheme, name, namespace string) ctrl.Options {
	return ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       MetricsOptions(f),
		HealthProbeBindAddress:        f.ProbeAddr,
		PprofBindAddress:              f.PprofAddr,
		LeaderElection:                f.LeaderElect,
		LeaderElectionID:              name + ".volsync.backube",
		LeaderElectionNamespace:       namespace,
		LeaderElectionReleaseOnCancel: true,
	}
}

// MetricsOptions serves metrics over HTTPS behind TokenReview/SubjectAccessReview (scrapers
// need the volsync-metrics-reader ClusterRole), or over plain HTTP when secure is off.
func MetricsOptions(f Flags) metricsserver.Options {
	o := metricsserver.Options{BindAddress: f.MetricsAddr, SecureServing: f.MetricsSecure}
	if !f.MetricsSecure {
		return o
	}
	o.FilterProvider = filters.WithAuthenticationAndAuthorization
	o.CertDir, o.CertName, o.KeyName = f.MetricsCertPath, f.MetricsCertName, f.MetricsCertKey
	if !f.EnableHTTP2 {
		o.TLSOpts = append(o.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	return o
}

// ControllerNamespace is the namespace the controller runs in ("" when unknown: outside a
// cluster without VOLSYNC_NAMESPACE).
func ControllerNamespace(getenv func(string) string, readFile func(string) ([]byte, error)) string {
	if ns := getenv(NamespaceEnv); ns != "" {
		return ns
	}
	b, err := readFile(inClusterNamespaceFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// NewScheme returns the scheme every controller uses: core types, VolSync's, VolumeSnapshots.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, snapv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

// NewManager makes a manager with the controllers' caches (clients.CacheOptions) and client
// (clients.ClientOptions) from opts, and returns it with the Split client over its cache.
// extra are the controller's own kinds (Controller.Kinds).
func NewManager(cfg *rest.Config, opts ctrl.Options, extra ...kinds.Kind) (ctrl.Manager, *clients.Split, error) {
	opts.Cache = clients.CacheOptions(extra...)
	opts.Client = clients.ClientOptions()
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("creating manager: %w", err)
	}
	c, err := clients.New(context.Background(), mgr, extra...)
	if err != nil {
		return nil, nil, err
	}
	return mgr, c, nil
}

// Setup registers the ReplicationSource and ReplicationDestination reconcilers of opts.Builder,
// watching the owned kinds and extra (Controller.Kinds).
func Setup(mgr ctrl.Manager, opts reconcile.Options, extra ...kinds.Kind) error {
	watched := kinds.Watched(extra...)
	if err := reconcile.SetupSource(mgr, opts, watched...); err != nil {
		return fmt.Errorf("setting up the ReplicationSource controller: %w", err)
	}
	if err := reconcile.SetupDestination(mgr, opts, watched...); err != nil {
		return fmt.Errorf("setting up the ReplicationDestination controller: %w", err)
	}
	return nil
}

// Main runs the controller c and exits when it stops.
func Main(c Controller) {
	if err := c.Run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Run parses args and runs the controller until a termination signal.
func (c Controller) Run(args []string, getenv func(string) string) error {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	zapOpts := zap.Options{}
	// The process's own flag set: controller-runtime registers --kubeconfig there.
	fs := flag.CommandLine
	zapOpts.BindFlags(fs)
	f, err := c.ParseFlags(fs, args, getenv)
	if err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")
	namespace := ControllerNamespace(getenv, os.ReadFile)
	pull := rbac.ParsePullSecrets(namespace, f.PullSecrets)
	if len(pull.Names) > 0 && namespace == "" {
		return fmt.Errorf("--mover-image-pull-secrets needs the controller's namespace: set %s", NamespaceEnv)
	}
	scheme, err := NewScheme()
	if err != nil {
		return err
	}
	cfg, err := f.RestConfig()
	if err != nil {
		return err
	}
	mgr, cl, err := NewManager(cfg, f.ManagerOptions(scheme, c.Name, namespace), c.Kinds...)
	if err != nil {
		return err
	}
	if err := Setup(mgr, reconcile.Options{
		Builder: c.Builder(f.Image), Client: cl, APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("volsync-" + c.Name), Clock: clock.RealClock{}, Location: time.Local,
		MaxConcurrentReconciles: f.Concurrency,
		// The proxy environment is read once; movers that talk only to their peer ignore it,
		// those that talk to the outside put it into their Job (jobs.Spec).
		PullSecrets: pull, ProxyEnv: jobs.ProxyEnv(getenv),
	}, c.Kinds...); err != nil {
		return err
	}
	if err := AddProbes(mgr); err != nil {
		return err
	}
	setupLog.Info("Starting controller", "mover", c.Name, "moverImage", f.Image, "leaderElection", f.LeaderElect,
		"namespace", namespace, "metricsSecure", f.MetricsSecure, "moverImagePullSecrets", pull.Names)
	return mgr.Start(ctrl.SetupSignalHandler())
}
