//go:build e2e

package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Polling: the suites never sleep to synchronise; they poll with a deadline. The interval
// starts short (quick waits stay quick) and backs off so that long waits stay cheap for the
// API server while many tests run at once.
const (
	firstPoll = 100 * time.Millisecond
	maxPoll   = time.Second
)

// ControllerNamespace is where the controllers run.
const ControllerNamespace = "volsync-system"

// The cluster's clients, set by Main.
var (
	C  client.Client
	CS *kubernetes.Clientset
)

// Connect returns clients for the cluster KUBECONFIG points at, with the core, snapshot and
// VolSync types registered.
func Connect() (client.Client, *kubernetes.Clientset, error) {
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return nil, nil, errors.New("KUBECONFIG is not set: run the suites with make e2e (hack/e2e.sh), which brings the local cluster up and sets it")
	}
	if _, err := os.Stat(kubeconfig); err != nil {
		return nil, nil, fmt.Errorf("KUBECONFIG %s: %w: is the cluster up (make cluster-up)?", kubeconfig, err)
	}
	cfg, err := config.GetConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, snapv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, nil, fmt.Errorf("building scheme: %w", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, fmt.Errorf("creating client: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("creating clientset: %w", err)
	}
	return c, cs, nil
}

// Main is a suite's TestMain: it connects to the cluster (failing the run when there is none)
// and runs the tests.
func Main(m *testing.M) {
	var err error
	if C, CS, err = Connect(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// EnvOr returns the environment variable k, or def when it is unset or empty.
func EnvOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Ctx returns a context that ends after d or with the test.
func Ctx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Must fails the test on an error.
func Must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Eventually polls f until it returns nil, failing the test with f's last error after timeout.
func Eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := firstPoll
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(interval)
		interval = min(2*interval, maxPoll)
	}
}

// WaitGone waits until obj no longer exists.
func WaitGone(t *testing.T, timeout time.Duration, obj client.Object) {
	t.Helper()
	ctx := Ctx(t, timeout)
	Eventually(t, timeout, fmt.Sprintf("%T %s/%s to be deleted", obj, obj.GetNamespace(), obj.GetName()), func() error {
		err := C.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %w)", err)
	})
}

// Pod Security Standard levels the suites' namespaces enforce.
const (
	psaEnforceLabel = "pod-security.kubernetes.io/enforce"
	psaRestricted   = "restricted"
	// psaBaseline is enough for privileged movers: root with CHOWN, DAC_OVERRIDE, FOWNER,
	// FSETID, SETGID and SETUID, which the baseline level allows.
	psaBaseline = "baseline"
)

// Namespace creates a namespace as most users have it: enforcing the restricted Pod Security
// Standard, without the privileged-movers annotation, so movers run unprivileged (the default
// path). Its name is prefix-<random>; it is deleted when the test ends (unless E2E_KEEP is set).
func Namespace(t *testing.T, prefix string) string {
	t.Helper()
	return newNamespace(t, prefix, map[string]string{psaEnforceLabel: psaRestricted}, nil)
}

// PrivilegedNamespace creates a namespace that lets movers run privileged (as root, keeping
// ownership), as disaster recovery of arbitrary application data needs.
func PrivilegedNamespace(t *testing.T, prefix string) string {
	t.Helper()
	return newNamespace(t, prefix, map[string]string{psaEnforceLabel: psaBaseline},
		map[string]string{v1alpha1.PrivilegedMoversNamespaceAnnotation: "true"})
}

func newNamespace(t *testing.T, prefix string, labels, annotations map[string]string) string {
	t.Helper()
	name := prefix + "-" + rand.String(5)
	Must(t, C.Create(Ctx(t, time.Minute), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: labels, Annotations: annotations}}))
	t.Logf("namespace %s", name)
	t.Cleanup(func() {
		if os.Getenv("E2E_KEEP") == "" {
			_ = C.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	})
	return name
}

// Logs returns a pod's logs, or why there are none.
func Logs(t *testing.T, ns, pod string) string {
	t.Helper()
	r, err := CS.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).Stream(Ctx(t, time.Minute))
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer func() { _ = r.Close() }()
	var b bytes.Buffer
	_, _ = io.Copy(&b, r)
	return b.String()
}

// Events returns the events in ns regarding the object called name.
func Events(t *testing.T, ns, name string) []eventsv1.Event {
	t.Helper()
	list := &eventsv1.EventList{}
	Must(t, C.List(Ctx(t, time.Minute), list, client.InNamespace(ns)))
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// EventNotes returns the notes of the events regarding the object called name, by reason.
func EventNotes(t *testing.T, ns, name string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, e := range Events(t, ns, name) {
		out[e.Reason] = append(out[e.Reason], e.Note)
	}
	return out
}
