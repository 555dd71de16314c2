package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/conditions"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

const (
	// WaitTimeout bounds every poll of a test.
	WaitTimeout = 30 * time.Second
	// PollEvery is how often a poll looks again.
	PollEvery = 100 * time.Millisecond
	// testTimeout bounds the API calls of one test.
	testTimeout = 2 * time.Minute
)

// Context returns a context for a test's API calls; it ends with the test.
func Context(t *testing.T) context.Context {
	t.Helper()
	return testenv.Context(t, testTimeout)
}

// Must fails the test on an error.
func Must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Eventually polls f until it returns nil, and fails the test with f's last error when
// WaitTimeout has passed.
func Eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(PollEvery)
	}
	t.Fatalf("timed out waiting for %s: %v", what, err)
}

// Get reads ns/name into obj, live.
func (h *Harness) Get(ctx context.Context, ns, name string, obj client.Object) error {
	return h.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}

// Common returns the common status of a ReplicationSource or ReplicationDestination, nil
// before it has one.
func Common(obj client.Object) *v1alpha1.CommonStatus {
	switch o := obj.(type) {
	case *v1alpha1.ReplicationSource:
		if o.Status != nil {
			return &o.Status.CommonStatus
		}
	case *v1alpha1.ReplicationDestination:
		if o.Status != nil {
			return &o.Status.CommonStatus
		}
	}
	return nil
}

// Synchronizing returns the Synchronizing condition of st, nil when it has none.
func Synchronizing(st *v1alpha1.CommonStatus) *metav1.Condition {
	if st == nil {
		return nil
	}
	return conditions.Get(st.Conditions)
}

// WaitCondition waits for obj's Synchronizing condition to have reason and a message
// containing fragment; obj holds what was read last.
func (h *Harness) WaitCondition(t *testing.T, obj client.Object, reason, fragment string) {
	t.Helper()
	Eventually(t, reason+" condition with "+fragment, func() error {
		Must(t, h.Get(Context(t), obj.GetNamespace(), obj.GetName(), obj))
		st := Common(obj)
		if st == nil {
			return errors.New("no status")
		}
		c := Synchronizing(st)
		if c == nil || c.Reason != reason || !strings.Contains(c.Message, fragment) {
			return fmt.Errorf("condition: %+v", c)
		}
		return nil
	})
}

// WaitError waits for obj's Synchronizing condition to report an error containing fragment,
// and for its SynchronizationError event.
func (h *Harness) WaitError(t *testing.T, obj client.Object, fragment string) {
	t.Helper()
	h.WaitCondition(t, obj, v1alpha1.SynchronizingReasonError, fragment)
	h.WaitEvent(t, obj.GetNamespace(), obj.GetName(), "SynchronizationError", fragment)
}

// Syncing waits until the controller has obj synchronizing (its Job made).
func (h *Harness) Syncing(t *testing.T, obj client.Object) {
	t.Helper()
	h.WaitCondition(t, obj, v1alpha1.SynchronizingReasonSync, "")
}

// WaitIdle waits for a scheduled source to be waiting for its next slot and returns that slot.
func (h *Harness) WaitIdle(t *testing.T, rs *v1alpha1.ReplicationSource) time.Time {
	t.Helper()
	var next time.Time
	Eventually(t, "waiting for schedule", func() error {
		Must(t, h.Get(Context(t), rs.Namespace, rs.Name, rs))
		st := rs.Status
		if st == nil || st.LastSyncTime == nil || st.NextSyncTime == nil || st.LastSyncStartTime != nil {
			return fmt.Errorf("status: %+v", st)
		}
		if c := Synchronizing(&st.CommonStatus); c.Reason != v1alpha1.SynchronizingReasonSched {
			return fmt.Errorf("condition: %+v", c)
		}
		next = st.NextSyncTime.Time
		return nil
	})
	return next
}

// NoneCreated checks that an object that could not start left no Job and no PVC behind.
func (h *Harness) NoneCreated(t *testing.T, ns string) {
	t.Helper()
	ctx := Context(t)
	jobs := &batchv1.JobList{}
	Must(t, h.Client.List(ctx, jobs, client.InNamespace(ns)))
	pvcs := &corev1.PersistentVolumeClaimList{}
	Must(t, h.Client.List(ctx, pvcs, client.InNamespace(ns), client.MatchingLabels{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}))
	if len(jobs.Items) != 0 || len(pvcs.Items) != 0 {
		t.Fatalf("bad input leaked %d Jobs and %d PVCs", len(jobs.Items), len(pvcs.Items))
	}
}

// EventsFor returns the notes of the events regarding the object ns/name, by reason.
func (h *Harness) EventsFor(t *testing.T, ns, name string) map[string][]string {
	t.Helper()
	list := &eventsv1.EventList{}
	Must(t, h.Client.List(Context(t), list, client.InNamespace(ns)))
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

// WaitEvent waits for an event of reason regarding ns/name whose note contains fragment.
func (h *Harness) WaitEvent(t *testing.T, ns, name, reason, fragment string) {
	t.Helper()
	Eventually(t, "event "+reason+" on "+name, func() error {
		for _, note := range h.EventsFor(t, ns, name)[reason] {
			if strings.Contains(note, fragment) {
				return nil
			}
		}
		return fmt.Errorf("no %s event with %q yet: %v", reason, fragment, h.EventsFor(t, ns, name))
	})
}

// Poke makes the controller reconcile obj now (its annotations change).
func (h *Harness) Poke(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := Context(t)
	Must(t, h.Get(ctx, obj.GetNamespace(), obj.GetName(), obj))
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a["test.volsync/poke"] = time.Now().Format(time.RFC3339Nano)
	obj.SetAnnotations(a)
	Must(t, h.Client.Patch(ctx, obj, patch))
}
