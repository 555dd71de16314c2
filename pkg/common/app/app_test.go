package app

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/volsync-go/volsync/pkg/deploytests"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

const (
	testTimeout = time.Minute
	pollEvery   = 100 * time.Millisecond
)

var env *testenv.Env

// testController is a controller as a mover's main.go describes it.
var testController = Controller{Name: "test-mover", DefaultImage: "quay.io/volsync-go/mover-test:latest", ImageEnv: "TEST_MOVER_IMAGE"}

func TestImageFromEnvironmentAndFlag(t *testing.T) {
	env := func(k string) string {
		if k == testController.ImageEnv {
			return "from-env:1"
		}
		return ""
	}
	f, err := testController.ParseFlags(flag.NewFlagSet("test", flag.ContinueOnError), nil, env)
	if err != nil || f.Image != "from-env:1" {
		t.Fatalf("image from %s: %q, %v", testController.ImageEnv, f.Image, err)
	}
	f, err = testController.ParseFlags(flag.NewFlagSet("test", flag.ContinueOnError), []string{"--mover-image=from-flag:2"}, env)
	if err != nil || f.Image != "from-flag:2" {
		t.Fatalf("image from --mover-image: %q, %v", f.Image, err)
	}
}

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func TestFlagDefaults(t *testing.T) {
	f, err := testController.ParseFlags(flag.NewFlagSet("test", flag.ContinueOnError), nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if f.MetricsAddr != ":8443" || !f.MetricsSecure || f.EnableHTTP2 || f.Image != testController.DefaultImage {
		t.Fatalf("defaults: %+v", f)
	}
	o := MetricsOptions(f)
	if !o.SecureServing || o.FilterProvider == nil {
		t.Fatalf("default metrics options are not HTTPS with authentication and authorization: %+v", o)
	}
	f, err = testController.ParseFlags(flag.NewFlagSet("test", flag.ContinueOnError), []string{"--metrics-secure=false"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if o := MetricsOptions(f); o.SecureServing || o.FilterProvider != nil {
		t.Fatalf("--metrics-secure=false must serve plain HTTP: %+v", o)
	}
}

func TestClientLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		qps         float32
		burst, conc int
	}{
		{nil, -1, 0, 20},
		{[]string{"--kube-api-qps=50", "--kube-api-burst=80", "--max-concurrent-reconciles=4"}, 50, 80, 4},
		{[]string{"--kube-api-qps=20"}, 20, 40, 20}, // client-go needs a burst with a limit
	} {
		f, err := testController.ParseFlags(flag.NewFlagSet("test", flag.ContinueOnError), tc.args, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if f.QPS != tc.qps || f.Burst != tc.burst || f.Concurrency != tc.conc {
			t.Errorf("%v: qps %v burst %d concurrency %d, want %v %d %d", tc.args, f.QPS, f.Burst, f.Concurrency, tc.qps, tc.burst, tc.conc)
		}
	}
}

func TestControllerNamespace(t *testing.T) {
	fromFile := func(string) ([]byte, error) { return []byte("from-file\n"), nil }
	noFile := func(string) ([]byte, error) { return nil, os.ErrNotExist }
	env := func(v string) func(string) string { return func(string) string { return v } }
	for _, tc := range []struct {
		getenv   func(string) string
		readFile func(string) ([]byte, error)
		want     string
	}{
		{env("volsync-system"), fromFile, "volsync-system"},
		{env(""), fromFile, "from-file"},
		{env(""), noFile, ""},
	} {
		if got := ControllerNamespace(tc.getenv, tc.readFile); got != tc.want {
			t.Errorf("controllerNamespace = %q, want %q", got, tc.want)
		}
	}
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	must(t, l.Close())
	return addr
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// startMetrics serves metrics as main configures them, with the rest.Config cfg.
func startMetrics(ctx context.Context, t *testing.T, f Flags, cfg *rest.Config) {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	must(t, err)
	srv, err := metricsserver.NewServer(MetricsOptions(f), cfg, hc)
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("metrics server: %v", err)
		}
	})
}

// scrape GETs /metrics with token (none if empty) until the server answers, and returns the
// status code.
func scrape(ctx context.Context, t *testing.T, url, token string) int {
	t.Helper()
	// The certificate is self-signed (no --metrics-cert-path), as Prometheus sees it too.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test server
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		must(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return resp.StatusCode
		}
		select {
		case <-ctx.Done():
			t.Fatalf("metrics server at %s never answered: %v", url, errors.Join(err, ctx.Err()))
		case <-time.After(pollEvery):
		}
	}
}

// token returns a token of a new ServiceAccount in ns.
func token(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	must(t, err)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	must(t, err)
	return tr.Status.Token
}

// TestMetricsRequireAuthorizedToken: the endpoint the Deployment serves (HTTPS with
// TokenReview/SubjectAccessReview, done with the controller's deployed permissions) answers
// 401 without a token, 403 to an account without volsync-metrics-reader and 200 with it.
func TestMetricsRequireAuthorizedToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	root, err := testenv.RepoRoot()
	must(t, err)
	controller, err := deploytests.AsDeployed(ctx, env.Client, env.Config, deploytests.OverlayDir(root, "rsync-tls"),
		"volsync-system", "volsync-rsync-tls")
	must(t, err)
	cs, err := kubernetes.NewForConfig(env.Config)
	must(t, err)
	ns := env.Namespace(ctx, t, "metrics")
	reader, stranger := token(ctx, t, cs, ns, "prometheus"), token(ctx, t, cs, ns, "stranger")
	must(t, env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-prometheus-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "volsync-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "prometheus", Namespace: ns}},
	}))

	f, err := testController.ParseFlags(flag.NewFlagSet("test", flag.ContinueOnError), []string{"--metrics-bind-address=" + freeAddr(t)},
		func(string) string { return "" })
	must(t, err)
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	startMetrics(srvCtx, t, f, controller)
	url := fmt.Sprintf("https://%s/metrics", f.MetricsAddr)
	for _, tc := range []struct {
		who, token string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"an account without volsync-metrics-reader", stranger, http.StatusForbidden},
		{"an account with volsync-metrics-reader", reader, http.StatusOK},
	} {
		if got := scrape(ctx, t, url, tc.token); got != tc.want {
			t.Errorf("scrape with %s: HTTP %d, want %d", tc.who, got, tc.want)
		}
	}
	// A token the API server rejects: controller-runtime's filter answers 500 (the TokenReview
	// carries an error), which is still a refusal.
	if got := scrape(ctx, t, url, "not-a-token"); got < http.StatusBadRequest {
		t.Errorf("scrape with a forged token: HTTP %d, want a refusal", got)
	}
}

// TestMetricsPlainHTTPForLocalUse: --metrics-secure=false serves anyone over plain HTTP.
func TestMetricsPlainHTTPForLocalUse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	f, err := testController.ParseFlags(flag.NewFlagSet("test", flag.ContinueOnError),
		[]string{"--metrics-secure=false", "--metrics-bind-address=" + freeAddr(t)}, func(string) string { return "" })
	must(t, err)
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	startMetrics(srvCtx, t, f, env.Config)
	if got := scrape(ctx, t, "http://"+f.MetricsAddr+"/metrics", ""); got != http.StatusOK {
		t.Fatalf("plain HTTP scrape: HTTP %d, want 200", got)
	}
}
