package lifecycle

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
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/naming"
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

// IdleReconcileMakesNoRequest: once a synchronization's Job exists, a reconcile that has
// nothing to do makes no API request at all: owned objects (generated Secrets included) come
// from the cache, the user's objects were read once for the synchronization, the status is
// unchanged. The reconciler under test has its own cache and client over a connection that
// records every request; the suite's controller runs the object up to its Job first.
func (h *Harness) IdleReconcileMakesNoRequest(t *testing.T) {
	t.Run("source", func(t *testing.T) {
		_, rs := h.StartSource(t, "src", v1alpha1.CopyMethodDirect, &v1alpha1.TriggerSpec{Schedule: ptr.To("*/5 * * * *")})
		h.Syncing(t, rs)
		h.IdleReconciles(t, rs, append([]string{"persistentvolumeclaims/data"}, h.UserReads...)...)
	})
	t.Run("destination", func(t *testing.T) {
		ns := h.Namespace(t, nil)
		rd := h.NewDestination(ns, "dest", "one")
		h.Create(t, rd)
		h.Syncing(t, rd)
		// A provisioned destination volume is VolSync's own: nothing else to read live.
		h.IdleReconciles(t, rd, h.UserReads...)
	})
}

// IdleReconciles runs a fresh reconciler over a recording connection on obj (a
// ReplicationSource or ReplicationDestination whose Job exists): its first reconcile reads
// each of the user's objects userReads (paths below the namespace, e.g.
// "persistentvolumeclaims/data") live once and writes nothing; the next reconciles, also
// after the Job's pod started, make no request and emit no event.
func (h *Harness) IdleReconciles(t *testing.T, obj client.Object, userReads ...string) {
	t.Helper()
	ctx := Context(t)
	role := naming.Destination
	if _, ok := obj.(*v1alpha1.ReplicationSource); ok {
		role = naming.Source
	}
	key := client.ObjectKeyFromObject(obj)
	job := h.FindJob(t, key.Namespace, h.JobName(role, key.Name)) // not started yet: no pod
	reconcileOnce, split := h.freshReconciler(t, obj, userReads)
	if reqs := reconcileOnce("idle reconcile"); len(reqs) != 0 {
		t.Errorf("a reconcile with nothing to do made %d API requests, want 0: %v", len(reqs), reqs)
	}
	// The Job's pod starts: the watch wakes the reconciler, which still has nothing to do.
	h.StartJob(t, job)
	Eventually(t, "the Job's start in the cache", func() error {
		cached := job.DeepCopy()
		Must(t, split.Get(ctx, client.ObjectKeyFromObject(job), cached))
		if cached.Status.Active == 0 {
			return fmt.Errorf("cache has Job status %+v", cached.Status)
		}
		return nil
	})
	if reqs := reconcileOnce("reconcile after the Job started"); len(reqs) != 0 {
		t.Errorf("a reconcile of a running Job made %d API requests, want 0: %v", len(reqs), reqs)
	}
}

// SteadyIdleReconciles is IdleReconciles for a steady mover (no Job): once obj is at rest, a
// fresh reconciler reads the user's objects userReads live once and writes nothing, and the
// next reconciles make no API request and emit no event.
func (h *Harness) SteadyIdleReconciles(t *testing.T, obj client.Object, userReads ...string) {
	t.Helper()
	reconcileOnce, _ := h.freshReconciler(t, obj, userReads)
	for i := range 3 {
		if reqs := reconcileOnce(fmt.Sprintf("idle reconcile %d", i+1)); len(reqs) != 0 {
			t.Errorf("a reconcile with nothing to do made %d API requests, want 0: %v", len(reqs), reqs)
		}
	}
}

// freshReconciler starts a reconciler of obj with its own cache over a connection that records
// every request, runs its first reconcile and checks that it read exactly userReads live and
// wrote nothing. It returns a function running one more reconcile (the requests it made).
func (h *Harness) freshReconciler(t *testing.T, obj client.Object, userReads []string) (func(string) []string, *clients.Split) {
	t.Helper()
	ctx := Context(t)
	newReconciler := reconcile.NewDestinationReconciler
	if _, ok := obj.(*v1alpha1.ReplicationSource); ok {
		newReconciler = reconcile.NewSourceReconciler
	}
	key := client.ObjectKeyFromObject(obj)
	log := &requestLog{}
	cfg := rest.CopyConfig(h.Env.Config)
	cfg.Wrap(log.wrap)
	api, err := client.New(cfg, client.Options{Scheme: h.Env.Scheme})
	Must(t, err)
	split := cachedclient.Start(t, &testenv.Env{Config: cfg, Client: api, Scheme: h.Env.Scheme}, h.Kinds...)
	recorder := kevents.NewFakeRecorder(100)
	r := newReconciler(reconcile.Options{
		Builder: h.Builder, Client: split, APIReader: api, Recorder: recorder,
		Clock: h.Clock, Metrics: metrics.New(prometheus.NewRegistry()),
	})
	reconcileOnce := func(what string) []string {
		t.Helper()
		log.take()
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatalf("%s: reconcile: %v", what, err)
		}
		if len(recorder.Events) > 0 {
			t.Errorf("%s: reconcile emitted an event: %s", what, <-recorder.Events)
		}
		return log.take()
	}
	// The first reconcile of this reconciler starts its informers (their lists are recorded)
	// and reads the user's objects, once for the synchronization.
	first := reconcileOnce("first reconcile")
	liveGets := slices.DeleteFunc(slices.Clone(first), func(s string) bool {
		return !strings.HasPrefix(s, "GET ") || isList(strings.TrimPrefix(s, "GET "))
	})
	want := []string{}
	for _, u := range userReads {
		want = append(want, "GET /api/v1/namespaces/"+key.Namespace+"/"+u)
	}
	if slices.Sort(liveGets); !slices.Equal(liveGets, slices.Sorted(slices.Values(want))) {
		t.Errorf("first reconcile read %v live, want %v (all requests: %v)", liveGets, want, first)
	}
	for _, s := range first {
		if !strings.HasPrefix(s, "GET ") {
			t.Errorf("first reconcile wrote: %s", s)
		}
	}

	return reconcileOnce, split
}

// isList tells a collection path (/api/v1/pods, /apis/batch/v1/namespaces/x/jobs) from an
// object's (/api/v1/namespaces/x/persistentvolumeclaims/data, /api/v1/namespaces/x).
func isList(path string) bool {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	prefix := 2 // api/v1
	if segs[0] == "apis" {
		prefix = 3 // apis/<group>/<version>
	}
	if len(segs) <= prefix {
		return true // discovery: not an object
	}
	rest := segs[prefix:]
	if len(rest) >= 2 && rest[0] == "namespaces" && len(rest) > 2 {
		rest = rest[2:] // a namespaced resource
	}
	return len(rest) == 1
}
