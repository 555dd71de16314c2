package statemachine

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/conditions"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/trigger"
)

// fakeMover returns scripted results.
type fakeMover struct {
	sync, clean   mover.Result
	syncErr       error
	syncs, cleans int
}

func (f *fakeMover) Synchronize(context.Context) (mover.Result, error) {
	f.syncs++
	return f.sync, f.syncErr
}

func (f *fakeMover) Cleanup(context.Context) (mover.Result, error) {
	f.cleans++
	return f.clean, nil
}

type object struct {
	*v1alpha1.ReplicationSource
}

func (o object) Trigger() *v1alpha1.TriggerSpec { return o.Spec.Trigger }
func (o object) Paused() bool                   { return o.Spec.Paused }
func (o object) Status() *v1alpha1.CommonStatus {
	if o.ReplicationSource.Status == nil {
		o.ReplicationSource.Status = &v1alpha1.ReplicationSourceStatus{}
	}
	return &o.ReplicationSource.Status.CommonStatus
}
func (o object) SetImage(context.Context, *corev1.TypedLocalObjectReference) error { return nil }

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func setup(trigger *v1alpha1.TriggerSpec) (*Machine, object, *clocktesting.FakeClock, *prometheus.Registry) {
	clk := clocktesting.NewFakeClock(start)
	reg := prometheus.NewRegistry()
	set := metrics.New(reg)
	m := NewMachine(clk, time.UTC, set, metrics.Object{Name: "o", Namespace: "n", Role: "source", Method: "test"}, events.For(nil, nil))
	rs := &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Name: "o", Namespace: "n", UID: "u",
		CreationTimestamp: metav1.NewTime(start)}, Spec: v1alpha1.ReplicationSourceSpec{Trigger: trigger}}
	return m, object{rs}, clk, reg
}

func durations(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	n, err := testutil.GatherAndCount(reg, "volsync_sync_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func reason(o object) string { return conditions.Get(o.Status().Conditions).Reason }

func TestManualCycle(t *testing.T) {
	m, o, clk, reg := setup(&v1alpha1.TriggerSpec{Manual: "a"})
	mv := &fakeMover{}
	ctx := context.Background()

	// Initial: the sync starts and the mover runs in the same reconcile.
	if _, err := m.Run(ctx, o, mv); err != nil {
		t.Fatal(err)
	}
	st := o.Status()
	if st.LastSyncStartTime == nil || st.ManualSyncInProgress != "a" || mv.syncs != 1 || reason(o) != v1alpha1.SynchronizingReasonSync {
		t.Fatalf("after start: %+v (syncs %d)", st, mv.syncs)
	}
	// The user sets a new trigger while the sync runs; then the sync completes.
	o.Spec.Trigger.Manual = "b"
	clk.Step(42 * time.Second)
	mv.sync = mover.Done()
	res, _ := m.Run(ctx, o, mv)
	if st.LastSyncTime == nil || st.LastSyncDuration.Duration != 42*time.Second || st.LastManualSync != "a" || st.LastSyncStartTime != nil {
		t.Fatalf("after completion: %+v", st)
	}
	if mv.cleans != 0 || res.RequeueAfter != TransitionRequeue || reason(o) != v1alpha1.SynchronizingReasonCleanup {
		t.Fatalf("cleanup must wait for the completion to be stored: cleans %d, result %+v", mv.cleans, res)
	}
	if durations(t, reg) != 0 {
		t.Fatal("metrics must not move before Commit")
	}
	m.Commit()
	if durations(t, reg) != 1 {
		t.Fatal("Commit must record the duration")
	}
	// Cleanup done: "b" differs from lastManualSync "a", so a second sync starts at once.
	mv.clean = mover.Done()
	mv.sync = mover.Result{}
	if _, err := m.Run(ctx, o, mv); err != nil {
		t.Fatal(err)
	}
	if st.LastSyncStartTime == nil || st.ManualSyncInProgress != "b" || mv.syncs != 3 {
		t.Fatalf("a trigger set mid-sync must start another sync: %+v", st)
	}
	mv.sync = mover.Done()
	_, _ = m.Run(ctx, o, mv)
	_, _ = m.Run(ctx, o, mv)
	if st.LastManualSync != "b" || reason(o) != v1alpha1.SynchronizingReasonManual {
		t.Fatalf("want idle waiting for a manual trigger: %+v", st)
	}
}

func TestPausedDoesNotStart(t *testing.T) {
	m, o, _, _ := setup(nil)
	o.Spec.Paused = true
	mv := &fakeMover{}
	if _, err := m.Run(context.Background(), o, mv); err != nil {
		t.Fatal(err)
	}
	if mv.syncs != 0 || o.Status().LastSyncStartTime != nil || conditions.Get(o.Status().Conditions).Message != MessagePaused {
		t.Fatalf("a paused object started: %+v", o.Status())
	}
}

func TestErrorsAreReported(t *testing.T) {
	m, o, _, _ := setup(nil)
	mv := &fakeMover{syncErr: mover.Retry(errors.New("key Secret missing"), 5*time.Second)}
	res, err := m.Run(context.Background(), o, mv)
	if err != nil {
		t.Fatal(err)
	}
	c := conditions.Get(o.Status().Conditions)
	if c.Reason != v1alpha1.SynchronizingReasonError || c.Message != "key Secret missing" {
		t.Fatalf("condition: %+v", c)
	}
	if res.RequeueAfter < 5*time.Second || res.RequeueAfter >= 5*time.Second+requeueJitter {
		t.Fatalf("the mover's retry delay (plus jitter) must be used: %s", res.RequeueAfter)
	}
	if o.Status().LastSyncStartTime == nil {
		t.Fatal("an error must not abandon the sync in progress")
	}
}

func TestScheduleWaitsForSlot(t *testing.T) {
	m, o, clk, _ := setup(&v1alpha1.TriggerSpec{Schedule: ptr("*/15 * * * *")})
	mv := &fakeMover{sync: mover.Done(), clean: mover.Done()}
	ctx := context.Background()
	_, _ = m.Run(ctx, o, mv) // first sync starts and completes at once
	clk.Step(time.Minute)
	res, _ := m.Run(ctx, o, mv) // cleanup, then idle
	st := o.Status()
	// Objects sharing a schedule are spread after its slots (whole seconds, per UID).
	want := start.Add(15*time.Minute + trigger.SpreadFor("u", 15*time.Minute))
	if st.NextSyncTime == nil || !st.NextSyncTime.Time.Equal(want) || reason(o) != v1alpha1.SynchronizingReasonSched {
		t.Fatalf("next sync: %+v", st)
	}
	if res.RequeueAfter != want.Sub(clk.Now()) {
		t.Fatalf("requeue at the slot: %s", res.RequeueAfter)
	}
	clk.SetTime(want)
	_, _ = m.Run(ctx, o, mv)
	if st.LastSyncTime.Time != want {
		t.Fatalf("a sync must start exactly at its slot plus the object's spread: %+v", st)
	}
}

func ptr[T any](v T) *T { return &v }

func outOfSyncGauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "volsync_volume_out_of_sync" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func TestOutOfSyncFollowsStoredStatus(t *testing.T) {
	m, o, clk, reg := setup(&v1alpha1.TriggerSpec{Manual: "a"})
	mv := &fakeMover{}
	ctx := context.Background()
	_, _ = m.Run(ctx, o, mv)
	if v := outOfSyncGauge(t, reg); v != -1 {
		t.Fatalf("the gauge must wait for Commit, got %v", v)
	}
	m.Commit()
	if v := outOfSyncGauge(t, reg); v != 1 {
		t.Fatalf("never synchronized: gauge %v, want 1", v)
	}
	stale := o.DeepCopy() // what a lagging cache still holds once the completion is stored
	mv.sync = mover.Done()
	clk.Step(time.Second)
	_, _ = m.Run(ctx, o, mv)
	m.Commit()
	if v := outOfSyncGauge(t, reg); v != 0 {
		t.Fatalf("after the completion: gauge %v, want 0", v)
	}
	// A reconcile of the stale copy loses its status write (optimistic lock), so it is never
	// committed: the gauge must not go back to 1, and the next fresh reconcile keeps it at 0.
	_, _ = m.Run(ctx, object{stale}, &fakeMover{})
	if v := outOfSyncGauge(t, reg); v != 0 {
		t.Fatalf("an uncommitted reconcile moved the gauge to %v", v)
	}
	m.effects = &[]func(){} // the reconciler drops the effects of a lost write
	mv.clean = mover.Done()
	_, _ = m.Run(ctx, o, mv)
	m.Commit()
	if v := outOfSyncGauge(t, reg); v != 0 {
		t.Fatalf("idle after a sync: gauge %v, want 0", v)
	}
}

func TestOutOfSync(t *testing.T) {
	last := start
	every15 := &v1alpha1.TriggerSpec{Schedule: ptr("*/15 * * * *")}
	for _, tc := range []struct {
		name string
		t    *v1alpha1.TriggerSpec
		last *time.Time
		now  time.Time
		want bool
	}{
		{"never synchronized", nil, nil, start, true},
		{"manual, synchronized once", &v1alpha1.TriggerSpec{Manual: "x"}, &last, start.Add(48 * time.Hour), false},
		{"schedule, within the interval", every15, &last, start.Add(14 * time.Minute), false},
		{"schedule, at the next slot", every15, &last, start.Add(15 * time.Minute), false},
		{"schedule, a slot missed", every15, &last, start.Add(31 * time.Minute), true},
		{"invalid schedule is not reported as out of sync", &v1alpha1.TriggerSpec{Schedule: ptr("bad")}, &last, start.Add(time.Hour), false},
	} {
		if got := outOfSync(tc.t, tc.last, tc.now, time.UTC); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPausedAtCreationReportsTheTriggersWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trigger *v1alpha1.TriggerSpec
		want    string
	}{
		{"schedule", &v1alpha1.TriggerSpec{Schedule: ptr("*/15 * * * *")}, v1alpha1.SynchronizingReasonSched},
		{"manual", &v1alpha1.TriggerSpec{Manual: "a"}, v1alpha1.SynchronizingReasonManual},
		{"always", nil, v1alpha1.SynchronizingReasonManual},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, o, _, _ := setup(tc.trigger)
			o.Spec.Paused = true
			if _, err := m.Run(context.Background(), o, &fakeMover{}); err != nil {
				t.Fatal(err)
			}
			if c := conditions.Get(o.Status().Conditions); c.Reason != tc.want || c.Message != MessagePaused {
				t.Fatalf("paused at creation: condition %s %q, want %s %q", c.Reason, c.Message, tc.want, MessagePaused)
			}
		})
	}
}

func TestWaitingReason(t *testing.T) {
	for _, tc := range []struct {
		trigger     *v1alpha1.TriggerSpec
		reason, msg string
	}{
		{nil, v1alpha1.SynchronizingReasonManual, conditions.MessageManual},
		{&v1alpha1.TriggerSpec{Manual: "x", Schedule: ptr("@daily")}, v1alpha1.SynchronizingReasonManual, conditions.MessageManual},
		{&v1alpha1.TriggerSpec{Schedule: ptr("@daily")}, v1alpha1.SynchronizingReasonSched, conditions.MessageSchedule},
	} {
		if r, m := waitingReason(tc.trigger); r != tc.reason || m != tc.msg {
			t.Errorf("waitingReason(%+v) = %s %q, want %s %q", tc.trigger, r, m, tc.reason, tc.msg)
		}
	}
}

// countingRecorder counts the events it is given.
type countingRecorder struct{ n int }

func (c *countingRecorder) Eventf(runtime.Object, runtime.Object, string, string, string, string, ...any) {
	c.n++
}

func TestIsRace(t *testing.T) {
	gr := schema.GroupResource{Resource: "roles"}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{apierrors.NewNotFound(gr, "x"), false},
		{apierrors.NewForbidden(gr, "x", errors.New("no")), false},
		{apierrors.NewConflict(gr, "x", errors.New("changed")), true},
		{fmt.Errorf("creating Role n/x: %w", apierrors.NewAlreadyExists(gr, "x")), true},
		{mover.Retry(fmt.Errorf("updating Service n/x: %w", apierrors.NewConflict(gr, "x", errors.New("changed"))), time.Minute), true},
		{fmt.Errorf("creating Service n/x: %w", terminating()), true},
	} {
		if got := IsRace(tc.err); got != tc.want {
			t.Errorf("IsRace(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestRacesRequeueQuietly(t *testing.T) {
	gr := schema.GroupResource{Resource: "services"}
	for name, race := range map[string]error{
		"already exists": fmt.Errorf("creating ServiceAccount n/volsync-src-o: %w", apierrors.NewAlreadyExists(gr, "volsync-src-o")),
		"conflict":       fmt.Errorf("updating Service n/x: %w", apierrors.NewConflict(gr, "x", errors.New("the object has been modified"))),
	} {
		t.Run(name, func(t *testing.T) {
			m, o, clk, _ := setup(&v1alpha1.TriggerSpec{Manual: "a"})
			rec := &countingRecorder{}
			m.Events = events.For(rec, o)
			mv := &fakeMover{}
			ctx := context.Background()
			if _, err := m.Run(ctx, o, mv); err != nil { // the sync starts and is in progress
				t.Fatal(err)
			}
			before := *conditions.Get(o.Status().Conditions)
			clk.Step(time.Second)
			mv.syncErr = race
			res, err := m.Run(ctx, o, mv)
			if err != nil {
				t.Fatal(err)
			}
			if c := conditions.Get(o.Status().Conditions); *c != before {
				t.Fatalf("a race changed the condition: %+v, was %+v", c, before)
			}
			if rec.n != 0 {
				t.Fatalf("a race emitted %d events", rec.n)
			}
			if res.RequeueAfter <= 0 || res.RequeueAfter > RaceRetryInterval+raceJitter {
				t.Fatalf("a race must requeue soon: %+v", res)
			}
			if o.Status().LastSyncStartTime == nil {
				t.Fatal("a race must not abandon the sync in progress")
			}
		})
	}
}

// TestPersistentRaceIsReported: a race that keeps happening past RaceGracePeriod is no ordinary
// race and becomes an Error condition with an event, so the object never stalls in silence.
func TestPersistentRaceIsReported(t *testing.T) {
	gr := schema.GroupResource{Resource: "serviceaccounts"}
	race := fmt.Errorf("creating ServiceAccount n/volsync-src-o: %w", apierrors.NewAlreadyExists(gr, "volsync-src-o"))
	m, o, clk, _ := setup(&v1alpha1.TriggerSpec{Manual: "a"})
	m.Races = &Races{}
	rec := &countingRecorder{}
	m.Events = events.For(rec, o)
	mv := &fakeMover{syncErr: race}
	ctx := context.Background()
	for elapsed := time.Duration(0); elapsed < RaceGracePeriod; elapsed += 10 * time.Second {
		if _, err := m.Run(ctx, o, mv); err != nil {
			t.Fatal(err)
		}
		if c := conditions.Get(o.Status().Conditions); c != nil && c.Reason == v1alpha1.SynchronizingReasonError {
			t.Fatalf("reported after %s, within the grace period", elapsed)
		}
		clk.Step(10 * time.Second)
	}
	if _, err := m.Run(ctx, o, mv); err != nil {
		t.Fatal(err)
	}
	c := conditions.Get(o.Status().Conditions)
	if c == nil || c.Reason != v1alpha1.SynchronizingReasonError || rec.n == 0 {
		t.Fatalf("a race persisting past %s must be reported: condition %+v, %d events", RaceGracePeriod, c, rec.n)
	}
	// Once a reconcile loses no race, the next race is quiet again.
	mv.syncErr = nil
	if _, err := m.Run(ctx, o, mv); err != nil {
		t.Fatal(err)
	}
	mv.syncErr = race
	before := *conditions.Get(o.Status().Conditions)
	if _, err := m.Run(ctx, o, mv); err != nil {
		t.Fatal(err)
	}
	if c := conditions.Get(o.Status().Conditions); *c != before {
		t.Fatalf("a new race after a clean reconcile must be quiet: %+v", c)
	}
}

// terminating is what the API server answers a create in a namespace being deleted.
func terminating() error {
	err := apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "x", errors.New("unable to create new content in namespace n because it is being terminated"))
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
		Type: corev1.NamespaceTerminatingCause, Message: "namespace n is being terminated", Field: "metadata.namespace",
	})
	return err
}
