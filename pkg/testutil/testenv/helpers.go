package testenv

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Main is a TestMain body: it starts the control plane into *env, runs the tests, stops the
// control plane and exits. Controller logs are discarded unless TEST_CONTROLLER_LOGS is set.
func Main(m *testing.M, env **Env) {
	if os.Getenv("TEST_CONTROLLER_LOGS") == "" {
		logf.SetLogger(logr.Discard())
	}
	e, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the test control plane: %v\n", err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping the test control plane: %v\n", err)
	}
	os.Exit(code)
}

// Context returns a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Namespace creates a fresh namespace named after prefix.
func (e *Env) Namespace(ctx context.Context, t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// CountingClient counts the writes that go through it (to check that a reconcile at rest
// writes nothing).
type CountingClient struct {
	client.Client
	writes atomic.Int32
}

// Writes returns the number of writes so far.
func (c *CountingClient) Writes() int { return int(c.writes.Load()) }

// Create counts and forwards.
func (c *CountingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.writes.Add(1)
	return c.Client.Create(ctx, obj, opts...)
}

// Update counts and forwards.
func (c *CountingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.writes.Add(1)
	return c.Client.Update(ctx, obj, opts...)
}

// Patch counts and forwards.
func (c *CountingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	c.writes.Add(1)
	return c.Client.Patch(ctx, obj, patch, opts...)
}

// Delete counts and forwards.
func (c *CountingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	c.writes.Add(1)
	return c.Client.Delete(ctx, obj, opts...)
}

// Reset sets the count back to zero.
func (c *CountingClient) Reset() { c.writes.Store(0) }

// StandInOwner creates a ConfigMap to stand in for a ReplicationSource/Destination as the
// owner of objects: ownership works the same for any namespaced kind.
func (e *Env) StandInOwner(ctx context.Context, t testing.TB, ns, name string) client.Object {
	t.Helper()
	o := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := e.Client.Create(ctx, o); err != nil {
		t.Fatalf("creating owner: %v", err)
	}
	return o
}
