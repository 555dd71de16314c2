package statemachine

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/conditions"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/trigger"
)

// Requeue intervals.
const (
	// ErrorRetryInterval is how soon a synchronization that hit an error is tried again
	// (jittered per object). Watches on owned objects usually wake it sooner.
	ErrorRetryInterval = 1 * time.Minute
	// TransitionRequeue is how soon the next phase runs after a completion is recorded.
	TransitionRequeue = 200 * time.Millisecond
	// requeueJitter is the largest per-object spread added to polling requeues.
	requeueJitter = 10 * time.Second
	// RaceRetryInterval is how soon a reconcile that lost an ordinary race (a Conflict or an
	// AlreadyExists from the API server) runs again: the other writer has already acted, so
	// the next look usually succeeds.
	RaceRetryInterval = 2 * time.Second
	// raceJitter spreads the retries of objects that lost the same race.
	raceJitter = time.Second
	// ActionRetryInterval is how soon a failure the user must fix (mover.ActionError) is
	// looked at again when nothing changes; a change of the object retries at once.
	ActionRetryInterval = 30 * time.Minute
	// MessageInSync and MessageOutOfSync are the condition messages of a steady mover.
	MessageInSync    = "Synchronizing: the data is in sync"
	MessageOutOfSync = "Synchronizing: waiting for the data to be in sync"
	// MessagePaused is the condition message of a paused object.
	MessagePaused = "Paused (spec.paused is true)"
)

// Object is the view of a ReplicationSource or ReplicationDestination the machine works on.
type Object interface {
	metav1.Object
	// Trigger is spec.trigger.
	Trigger() *v1alpha1.TriggerSpec
	// Paused is spec.paused.
	Paused() bool
	// Status is the common part of the status, allocated if needed.
	Status() *v1alpha1.CommonStatus
	// SetImage records a destination's new image (a no-op on sources).
	SetImage(ctx context.Context, img *corev1.TypedLocalObjectReference) error
}

// Machine runs the state machine.
type Machine struct {
	Clock    clock.PassiveClock
	Location *time.Location
	Metrics  *metrics.Set
	Series   metrics.Object
	Events   events.Recorder
	// Races bounds how long the object's races stay quiet (nil: always quiet).
	Races *Races
	// effects are what must happen only once the status is stored (metrics, events of a
	// completion): a reconcile whose status write is lost repeats its step, not its effects.
	effects *[]func()
	// steadyInSync is what a steady mover reported in this run (nil: none).
	steadyInSync *bool
}

// NewMachine returns a Machine.
func NewMachine(clk clock.PassiveClock, loc *time.Location, m *metrics.Set, series metrics.Object, rec events.Recorder) *Machine {
	return &Machine{Clock: clk, Location: loc, Metrics: m, Series: series, Events: rec, effects: &[]func(){}}
}

// Commit runs the effects of the last Run; call it after the status was stored.
func (m *Machine) Commit() {
	for _, f := range *m.effects {
		f()
	}
	*m.effects = nil
}

func (m *Machine) defer_(f func()) { *m.effects = append(*m.effects, f) }

// State is where an object is in its cycle, derived from its status.
type State string

const (
	Initial       State = "Initial"
	Synchronizing State = "Synchronizing"
	CleaningUp    State = "CleaningUp"
)

// StateOf derives the state from the status.
func StateOf(st *v1alpha1.CommonStatus) State {
	switch {
	case st.LastSyncStartTime != nil:
		return Synchronizing
	case st.LastSyncTime == nil:
		return Initial
	default:
		return CleaningUp
	}
}

func timePtr(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	v := metav1.NewTime(*t)
	return &v
}

// Run advances the object as far as it can in one reconcile. It writes only to obj's status;
// the caller patches it. Errors of the synchronization are reported in the Synchronizing
// condition and an event, and retried after ErrorRetryInterval; ordinary races (IsRace) are
// only retried, soon and quietly. The returned error is reserved for the caller's own
// failures (it is nil here).
func (m *Machine) Run(ctx context.Context, obj Object, mv mover.Mover) (ctrl.Result, error) {
	st := obj.Status()
	now := m.Clock.Now()
	// The gauge follows the status this reconcile stores, so it is set with the other effects:
	// a reconcile that read a stale object loses its status write and cannot reset it.
	m.steadyInSync = nil
	defer func() {
		out := outOfSync(obj.Trigger(), timePtr(st.LastSyncTime), now, m.Location)
		if m.steadyInSync != nil {
			out = !*m.steadyInSync
		}
		m.defer_(func() { m.Metrics.SetOutOfSync(m.Series, out) })
	}()

	res, err := m.step(ctx, obj, mv, now)
	if err != nil {
		return m.fail(ctx, obj, err, now), nil
	}
	m.Races.Clear(keyOf(obj))
	if err := m.nextSyncTime(obj, st); err != nil {
		return m.fail(ctx, obj, err, now), nil
	}
	return res, nil
}

func (m *Machine) step(ctx context.Context, obj Object, mv mover.Mover, now time.Time) (ctrl.Result, error) {
	st := obj.Status()
	switch StateOf(st) {
	case Initial:
		if obj.Paused() {
			reason, _ := waitingReason(obj.Trigger())
			m.setCondition(obj, reason, MessagePaused, now)
			return ctrl.Result{}, nil
		}
		m.startSync(ctx, obj, now)
		return m.synchronize(ctx, obj, mv, now)
	case Synchronizing:
		return m.synchronize(ctx, obj, mv, now)
	default:
		return m.cleanup(ctx, obj, mv, now)
	}
}

func (m *Machine) startSync(ctx context.Context, obj Object, now time.Time) {
	st := obj.Status()
	start := metav1.NewTime(now)
	st.LastSyncStartTime = &start
	if t := obj.Trigger(); t != nil {
		st.ManualSyncInProgress = t.Manual
	} else {
		st.ManualSyncInProgress = ""
	}
	log.FromContext(ctx).Info("Starting synchronization")
}

func (m *Machine) synchronize(ctx context.Context, obj Object, mv mover.Mover, now time.Time) (ctrl.Result, error) {
	r, err := mv.Synchronize(ctx)
	if r.MoverStatus != nil && !equalMoverStatus(obj.Status().LatestMoverStatus, r.MoverStatus) {
		obj.Status().LatestMoverStatus = r.MoverStatus
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.InSync != nil {
		return m.steady(obj, r, now), nil
	}
	if !r.Completed {
		msg := conditions.MessageSyncing
		if r.Waiting != "" {
			msg += "; waiting: " + r.Waiting
		}
		if obj.Paused() {
			msg += "; " + MessagePaused
		}
		m.setCondition(obj, v1alpha1.SynchronizingReasonSync, msg, now)
		return m.requeue(obj, r.RetryAfter), nil
	}
	if err := m.complete(ctx, obj, r, now); err != nil {
		return ctrl.Result{}, err
	}
	// Cleanup (which deletes the Job) runs once the completion is stored, so a lost status
	// write can never make a finished synchronization run again.
	return ctrl.Result{RequeueAfter: TransitionRequeue}, nil
}

// complete records a finished synchronization in the status and the metrics.
func (m *Machine) complete(ctx context.Context, obj Object, r mover.Result, now time.Time) error {
	st := obj.Status()
	if r.Image != nil {
		if err := obj.SetImage(ctx, r.Image); err != nil {
			return err
		}
	}
	missed, err := trigger.MissedInterval(obj.Trigger(), timePtr(st.LastSyncTime), now, m.Location)
	if err != nil {
		return err
	}
	end := metav1.NewTime(now)
	duration := now.Sub(st.LastSyncStartTime.Time)
	st.LastSyncTime = &end
	st.LastSyncDuration = &metav1.Duration{Duration: duration}
	st.LastManualSync = st.ManualSyncInProgress
	st.ManualSyncInProgress = ""
	st.LastSyncStartTime = nil
	m.defer_(func() {
		if missed {
			m.Metrics.MissedInterval(m.Series)
		}
		if r.Transfer != nil {
			m.Metrics.AddTransfer(m.Series, r.Transfer.Bytes, r.Transfer.Files)
		}
		m.Metrics.ObserveDuration(m.Series, duration)
		m.Events.Normal(nil, events.ReasonSyncCompleted, events.ActionComplete, "Synchronization completed in %s", duration.Round(time.Second))
	})
	m.setCondition(obj, v1alpha1.SynchronizingReasonCleanup, conditions.MessageCleanup, now)
	return nil
}

func (m *Machine) cleanup(ctx context.Context, obj Object, mv mover.Mover, now time.Time) (ctrl.Result, error) {
	r, err := mv.Cleanup(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !r.Completed {
		m.setCondition(obj, v1alpha1.SynchronizingReasonCleanup, conditions.MessageCleanup, now)
		return m.requeue(obj, r.RetryAfter), nil
	}
	st := obj.Status()
	d, err := trigger.Decide(obj.Trigger(), trigger.Status{
		LastSyncTime: timePtr(st.LastSyncTime), LastSyncStartTime: timePtr(st.LastSyncStartTime), LastManualSync: st.LastManualSync,
		Key: string(obj.GetUID()),
	}, obj.GetCreationTimestamp().Time, now, m.Location)
	if err != nil {
		return ctrl.Result{}, err
	}
	reason, msg := waitingReason(obj.Trigger())
	if obj.Paused() {
		m.setCondition(obj, reason, MessagePaused, now)
		return ctrl.Result{}, nil
	}
	if d.Sync {
		m.startSync(ctx, obj, now)
		return m.synchronize(ctx, obj, mv, now)
	}
	m.setCondition(obj, reason, msg, now)
	// The start is already spread within its documented bound (trigger.SpreadFor) and shown
	// in nextSyncTime: no further jitter.
	return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
}

// steady records what a never-completing mover reports: lastSyncTime when the data becomes
// in sync (so a steady object at rest writes nothing), and the condition, with what the data
// waits for (Result.Waiting: a peer not connected, files still to receive) and the pause.
func (m *Machine) steady(obj Object, r mover.Result, now time.Time) ctrl.Result {
	inSync := *r.InSync
	m.steadyInSync = &inSync
	st := obj.Status()
	msg := MessageOutOfSync
	if inSync {
		msg = MessageInSync
		if prev := conditions.Get(st.Conditions); prev == nil || prev.Message != MessageInSync || st.LastSyncTime == nil {
			t := metav1.NewTime(now)
			st.LastSyncTime = &t
		}
	}
	if r.Waiting != "" {
		msg += "; " + r.Waiting
	}
	if obj.Paused() {
		msg += "; " + MessagePaused
	}
	m.setCondition(obj, v1alpha1.SynchronizingReasonSync, msg, now)
	return m.requeue(obj, r.RetryAfter)
}

func equalMoverStatus(a, b *v1alpha1.MoverStatus) bool {
	return a != nil && b != nil && a.Result == b.Result && a.Logs == b.Logs
}

// nextSyncTime keeps status.nextSyncTime current (schedule triggers only).
func (m *Machine) nextSyncTime(obj Object, st *v1alpha1.CommonStatus) error {
	next, err := trigger.NextSyncTime(obj.Trigger(), timePtr(st.LastSyncTime), obj.GetCreationTimestamp().Time, m.Location, string(obj.GetUID()))
	if err != nil {
		return err
	}
	if next == nil {
		st.NextSyncTime = nil
		return nil
	}
	if st.NextSyncTime == nil || !st.NextSyncTime.Time.Equal(*next) {
		st.NextSyncTime = metaTime(next)
	}
	return nil
}

// outOfSync is the value of volsync_volume_out_of_sync: the volume has never been synchronized,
// or a scheduled interval passed without a synchronization.
func outOfSync(t *v1alpha1.TriggerSpec, lastSync *time.Time, now time.Time, loc *time.Location) bool {
	if lastSync == nil {
		return true
	}
	missed, err := trigger.MissedInterval(t, lastSync, now, loc)
	return err == nil && missed
}

// requeue turns a mover's retry hint into a jittered requeue.
func (m *Machine) requeue(obj Object, after time.Duration) ctrl.Result {
	if after <= 0 {
		return ctrl.Result{}
	}
	// At most half the interval: a short poll (a steady mover's) stays short.
	return ctrl.Result{RequeueAfter: after + trigger.Jitter(string(obj.GetUID()), min(requeueJitter, after/2))}
}

func (m *Machine) setCondition(obj Object, reason, msg string, now time.Time) {
	conditions.Set(&obj.Status().Conditions, conditions.Synchronizing(reason, msg, obj.GetGeneration()), metav1.NewTime(now))
}

// fail reports a synchronization error: Error condition, and a Warning event when the message
// is new (so a persisting error does not flood events). An ordinary race is not an error the
// user must see: the condition is left as it was, no event, and the step runs again soon;
// a race that persists past RaceGracePeriod is reported like any other error.
func (m *Machine) fail(ctx context.Context, obj Object, err error, now time.Time) ctrl.Result {
	if IsRace(err) && m.Races.quiet(keyOf(obj), now) {
		log.FromContext(ctx).V(1).Info("Lost a race with another writer; retrying", "reason", err.Error())
		return ctrl.Result{RequeueAfter: RaceRetryInterval + trigger.Jitter(string(obj.GetUID()), raceJitter)}
	}
	msg := err.Error()
	var retry *mover.RetryError
	var action *mover.ActionError
	after := ErrorRetryInterval
	switch {
	case errors.As(err, &action):
		// Retrying cannot help: say what to do, and look again only rarely.
		msg = msg + "; to fix: " + action.Action
		after = ActionRetryInterval
	case errors.As(err, &retry) && retry.After > 0:
		after = retry.After
	}
	prev := conditions.Get(obj.Status().Conditions)
	if prev == nil || prev.Reason != v1alpha1.SynchronizingReasonError || prev.Message != msg {
		log.FromContext(ctx).Info("Synchronization error", "error", msg)
		m.Events.Warning(nil, events.ReasonSyncError, events.ActionSynchronize, "%s", msg)
	}
	m.setCondition(obj, v1alpha1.SynchronizingReasonError, msg, now)
	// At most half the interval: a short poll (a steady mover's) stays short.
	return ctrl.Result{RequeueAfter: after + trigger.Jitter(string(obj.GetUID()), min(requeueJitter, after/2))}
}

func keyOf(obj Object) types.NamespacedName {
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// IsRace reports whether err (possibly wrapped with %w) is an ordinary race with another
// writer: an optimistic-lock Conflict, an AlreadyExists from a create that a concurrent
// reconcile or a not yet finished deletion beat, or an object this controller just created
// that its cache has not received yet. It says nothing the user must act on.
func IsRace(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || errors.Is(err, clients.ErrNotCachedYet) ||
		// The namespace is being deleted: the object goes with it.
		apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}

// waitingReason is the reason and message of the Synchronizing condition of an idle object:
// waiting for the next slot of a schedule, else for a manual trigger.
func waitingReason(t *v1alpha1.TriggerSpec) (reason, message string) {
	if trigger.KindOf(t) == trigger.Schedule {
		return v1alpha1.SynchronizingReasonSched, conditions.MessageSchedule
	}
	return v1alpha1.SynchronizingReasonManual, conditions.MessageManual
}
