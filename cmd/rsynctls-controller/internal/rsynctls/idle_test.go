package rsynctls

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	kevents "k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/reconcile"
	"github.com/volsync-go/volsync/pkg/testutil/cachedclient"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// requestLog records the API requests made through a rest.Config, watches aside (an informer
// keeps one open per kind; it is not a request of a reconcile).
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("watch") != "true" {
			l.mu.Lock()
			l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
			l.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

// take returns and clears what was recorded.
func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reqs
	l.reqs = nil
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestIdleReconcileMakesNoRequest: once a synchronization's Job exists, a reconcile that has
// nothing to do makes no API request at all: owned objects come from the cache, the user's
// source PVC was read once for the synchronization, the status is unchanged. The reconciler
// under test has its own cache and client over a connection that records every request; the
// suite's controller runs the object up to its Job first.
func TestIdleReconcileMakesNoRequest(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	rs := newSource(ns, "src", "data", v1alpha1.CopyMethodDirect, &v1alpha1.TriggerSpec{Schedule: ptr.To("*/5 * * * *")})
	must(t, k8s.Create(ctx, rs))
	job := waitJob(t, ns, "volsync-rsync-tls-src-src")
	eventually(t, "synchronization in progress", func() error {
		must(t, get(ctx, ns, "src", rs))
		if c := condition(statusOf(rs)); c == nil || c.Reason != v1alpha1.SynchronizingReasonSync {
			return fmt.Errorf("condition %+v", c)
		}
		return nil
	})

	log := &requestLog{}
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(log.wrap)
	api, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	must(t, err)
	split := cachedclient.Start(t, &testenv.Env{Config: cfg, Client: api, Scheme: env.Scheme})
	recorder := kevents.NewFakeRecorder(100)
	r := reconcile.NewSourceReconciler(reconcile.Options{
		Builder: Builder{Image: testImage}, Client: split, APIReader: api, Recorder: recorder,
		Clock: clk, Metrics: metrics.New(prometheus.NewRegistry()),
	})
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(rs)}
	reconcileOnce := func(what string) []string {
		t.Helper()
		log.take()
		res, err := r.Reconcile(ctx, req)
		if err != nil {
			t.Fatalf("%s: reconcile: %v", what, err)
		}
		if len(recorder.Events) > 0 {
			t.Errorf("%s: reconcile emitted an event: %s", what, <-recorder.Events)
		}
		t.Logf("%s: result %+v", what, res)
		return log.take()
	}
	// The first reconcile of this reconciler starts its informers (their lists are recorded)
	// and reads the source PVC, once for the synchronization.
	first := reconcileOnce("first reconcile")
	pvcGets := slices.DeleteFunc(slices.Clone(first), func(s string) bool {
		return !strings.HasPrefix(s, "GET /api/v1/namespaces/"+ns+"/persistentvolumeclaims/")
	})
	if len(pvcGets) != 1 {
		t.Errorf("first reconcile read PVCs live %d times, want once (the source PVC): %v", len(pvcGets), first)
	}
	for _, s := range first {
		if strings.HasPrefix(s, "POST") || strings.HasPrefix(s, "PATCH") || strings.HasPrefix(s, "PUT") || strings.HasPrefix(s, "DELETE") {
			t.Errorf("first reconcile wrote: %s", s)
		}
	}

	if reqs := reconcileOnce("idle reconcile"); len(reqs) != 0 {
		t.Errorf("a reconcile with nothing to do made %d API requests, want 0: %v", len(reqs), reqs)
	}
	// The Job's pod starts: the watch wakes the reconciler, which still has nothing to do.
	startJob(t, job)
	eventually(t, "the Job's start in the cache", func() error {
		cached := job.DeepCopy()
		must(t, split.Get(ctx, client.ObjectKeyFromObject(job), cached))
		if cached.Status.Active == 0 {
			return fmt.Errorf("cache has Job status %+v", cached.Status)
		}
		return nil
	})
	if reqs := reconcileOnce("reconcile after the Job started"); len(reqs) != 0 {
		t.Errorf("a reconcile of a running Job made %d API requests, want 0: %v", len(reqs), reqs)
	}
}

func statusOf(rs *v1alpha1.ReplicationSource) *v1alpha1.CommonStatus {
	if rs.Status == nil {
		return &v1alpha1.CommonStatus{}
	}
	return &rs.Status.CommonStatus
}
