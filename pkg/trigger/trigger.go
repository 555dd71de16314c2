package trigger

import (
	"strings"
	"time"

	"github.com/volsync-go/volsync/api/v1alpha1"
)

// Kind of trigger.
type Kind string

// The kinds of trigger, in order of precedence.
const (
	// Manual synchronizes once each time spec.trigger.manual changes.
	Manual Kind = "Manual"
	// Schedule synchronizes at the slots of the cron expression in spec.trigger.schedule.
	Schedule Kind = "Schedule"
	// Always synchronizes back to back.
	Always Kind = "Always"
)

// Values of Decision.Waiting.
const (
	WaitingSchedule = "schedule"
	WaitingManual   = "manual"
)

// KindOf returns the kind of t: a non-empty manual wins over the schedule; a non-nil schedule
// that is not blank is Schedule; anything else, including a nil t, is Always.
func KindOf(t *v1alpha1.TriggerSpec) Kind {
	switch {
	case t == nil:
		return Always
	case t.Manual != "":
		return Manual
	case t.Schedule != nil && strings.TrimSpace(*t.Schedule) != "":
		return Schedule
	default:
		return Always
	}
}

// Status is what the decision needs from the object's status.
type Status struct {
	// LastSyncTime is the end of the last successful synchronization.
	LastSyncTime *time.Time
	// LastSyncStartTime is non-nil while a synchronization runs.
	LastSyncStartTime *time.Time
	// LastManualSync is the manual value the last completed synchronization was started for.
	LastManualSync string
	// Key identifies the object (its UID) to spread its scheduled starts (SpreadFor).
	Key string
}

// Decision says what an idle object should do now.
type Decision struct {
	// Sync says to start a synchronization now.
	Sync bool
	// NextSyncTime is the value for status.nextSyncTime (nil unless Schedule).
	NextSyncTime *time.Time
	// RequeueAfter is when to look again if not syncing now; 0 means only on a change
	// (Manual). Add Jitter to it, never subtract, so the slot is not reached early.
	RequeueAfter time.Duration
	// Waiting is WaitingSchedule or WaitingManual when not syncing (for the condition reason).
	Waiting string
}

// Decide says what an object should do at now.
//
//   - A synchronization is running (LastSyncStartTime set): Sync is false, Waiting empty and
//     RequeueAfter 0; the caller keeps driving the mover. NextSyncTime is still filled in.
//   - No successful synchronization yet (LastSyncTime nil): Sync, whatever the kind.
//   - Always: Sync.
//   - Manual: Sync when t.Manual differs from LastManualSync; otherwise wait for a change.
//   - Schedule: Sync when now is at or after NextSyncTime (first slot strictly after
//     LastSyncTime, computed with the current schedule in loc, plus the object's spread);
//     otherwise requeue at that time.
//
// The only error is an invalid schedule (wrapping ErrInvalidSchedule) for a Schedule trigger;
// a schedule hidden by a manual value is not parsed.
func Decide(t *v1alpha1.TriggerSpec, st Status, created, now time.Time, loc *time.Location) (Decision, error) {
	nextSync, err := NextSyncTime(t, st.LastSyncTime, created, loc, st.Key)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{NextSyncTime: nextSync}
	switch {
	case st.LastSyncStartTime != nil:
		return d, nil
	case st.LastSyncTime == nil:
		d.Sync = true
		return d, nil
	}
	switch KindOf(t) {
	case Manual:
		d.Sync = t.Manual != st.LastManualSync
		if !d.Sync {
			d.Waiting = WaitingManual
		}
	case Schedule:
		d.Sync = !now.Before(*nextSync)
		if !d.Sync {
			d.Waiting = WaitingSchedule
			d.RequeueAfter = nextSync.Sub(now)
		}
	default:
		d.Sync = true
	}
	return d, nil
}
