package trigger

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/volsync-go/volsync/api/v1alpha1"
)

// ErrInvalidSchedule is wrapped by every error about a spec.trigger.schedule value; the
// message names the offending expression and what is wrong with it.
var ErrInvalidSchedule = errors.New("invalid schedule")

// parser reads five-field expressions and @-descriptors, as the CRD pattern allows.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// schedulePattern is the CRD validation pattern; ParseSchedule never accepts more than it.
var schedulePattern = regexp.MustCompile(v1alpha1.SchedulePattern)

// neverFiresProbe is the instant from which ParseSchedule checks that a schedule fires at
// all. A day-of-month that exists in some month fires within four years of it (robfig/cron
// searches five), including 29 February, because 2000 is a leap year.
var neverFiresProbe = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

const (
	tzPrefix     = "TZ="
	cronTZPrefix = "CRON_TZ="
	everyPrefix  = "@every"
	midnight     = "@midnight"

	patternHint = "not a five-field cron expression (minute hour day-of-month month day-of-week) " +
		"or one of @hourly, @daily, @weekly, @monthly, @yearly, @annually"
)

// ParseSchedule parses a spec.trigger.schedule value. It accepts exactly what the CRD admits:
// at most v1alpha1.ScheduleMaxLength characters matching v1alpha1.SchedulePattern that
// robfig/cron can evaluate and that fire. A reversed range ("30-10 * * * *") and a schedule
// that never fires ("0 0 30 2 *") pass the pattern; the CRD's CEL rules reject them, and so
// does robfig/cron here (pkg/apitests proves the two agree). Leading and trailing spaces are
// ignored; time-zone prefixes, @every and @midnight are rejected with a hint. Errors wrap
// ErrInvalidSchedule, e.g. `invalid schedule "61 * * * *": end of range (61) above maximum
// (59): 61`.
func ParseSchedule(expr string) (cron.Schedule, error) {
	spec := strings.Trim(expr, " ")
	switch {
	case len(expr) > v1alpha1.ScheduleMaxLength:
		return nil, fmt.Errorf("%w: longer than %d characters", ErrInvalidSchedule, v1alpha1.ScheduleMaxLength)
	case spec == "":
		return nil, fmt.Errorf("%w %q: empty expression", ErrInvalidSchedule, expr)
	case strings.HasPrefix(spec, tzPrefix), strings.HasPrefix(spec, cronTZPrefix):
		return nil, fmt.Errorf("%w %q: time-zone prefixes are not supported, schedules use the controller's time zone",
			ErrInvalidSchedule, expr)
	case strings.HasPrefix(spec, everyPrefix):
		return nil, fmt.Errorf("%w %q: @every is not supported, use a step such as \"*/15 * * * *\"",
			ErrInvalidSchedule, expr)
	case spec == midnight:
		return nil, fmt.Errorf("%w %q: @midnight is not supported, use @daily", ErrInvalidSchedule, expr)
	}
	sched, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidSchedule, expr, err)
	}
	if !schedulePattern.MatchString(expr) {
		return nil, fmt.Errorf("%w %q: %s", ErrInvalidSchedule, expr, patternHint)
	}
	if sched.Next(neverFiresProbe).IsZero() {
		return nil, fmt.Errorf("%w %q: no date matches the day-of-month and month fields", ErrInvalidSchedule, expr)
	}
	return sched, nil
}

// scheduleOf returns the parsed schedule of a Schedule trigger, nil for other kinds.
func scheduleOf(t *v1alpha1.TriggerSpec) (cron.Schedule, error) {
	if KindOf(t) != Schedule {
		return nil, nil
	}
	return ParseSchedule(*t.Schedule)
}

// next is the first slot of sched strictly after after, evaluated in loc. A zero result
// (robfig/cron found no slot within five years) is reported as an invalid schedule.
func next(sched cron.Schedule, expr string, after time.Time, loc *time.Location) (time.Time, error) {
	n := sched.Next(after.In(loc))
	if n.IsZero() {
		return time.Time{}, fmt.Errorf("%w %q: no slot after %s", ErrInvalidSchedule, expr, after.In(loc).Format(time.RFC3339))
	}
	return n, nil
}

// Spreading of scheduled starts: objects sharing a schedule start at their own offset after
// each slot, so thousands of them do not create their Jobs in the same second.
const (
	// ScheduleSpreadDivisor bounds the offset to this fraction of the schedule's interval (the
	// gap from the slot to the one after it): a tenth, 6 s for a schedule of every minute.
	ScheduleSpreadDivisor = 10
	// MaxScheduleSpread bounds the offset of schedules of more than ten minutes.
	MaxScheduleSpread = time.Minute
)

// NextSyncTime is the value of status.nextSyncTime: for a Schedule trigger, the first slot
// strictly after lastSync (the completion of the last successful synchronization), or after
// created when there has been none, plus the object's spread (SpreadFor); nil for Manual and
// Always. Slots are computed in loc, the controller's time zone (time.Local or time.UTC), and
// the result is in loc. The schedule in t is read afresh, so an edited schedule applies to the
// next slot. key identifies the object (its UID); "" spreads nothing.
func NextSyncTime(t *v1alpha1.TriggerSpec, lastSync *time.Time, created time.Time, loc *time.Location, key string) (*time.Time, error) {
	sched, err := scheduleOf(t)
	if sched == nil || err != nil {
		return nil, err
	}
	after := created
	if lastSync != nil {
		after = *lastSync
	}
	n, err := next(sched, *t.Schedule, after, loc)
	if err != nil {
		return nil, err
	}
	following, err := next(sched, *t.Schedule, n, loc)
	if err != nil {
		return nil, err
	}
	n = n.Add(SpreadFor(key, following.Sub(n)))
	return &n, nil
}

// SpreadFor is how long after a slot the object key starts when the next slot follows after
// interval: a fixed offset per object in [0, min(interval/ScheduleSpreadDivisor,
// MaxScheduleSpread)), so it never reaches the next slot. It is whole seconds, the precision
// of status times (a finer nextSyncTime would differ from its stored copy at every
// reconcile). It is 0 for an empty key.
func SpreadFor(key string, interval time.Duration) time.Duration {
	if key == "" {
		return 0
	}
	return Jitter(key, min(interval/ScheduleSpreadDivisor, MaxScheduleSpread)).Truncate(time.Second)
}

// Deadline is when a Schedule trigger's next synchronization must have completed by:
// the slot after the next one, Next(Next(lastSync)). It is nil for other kinds and when there
// has been no successful synchronization yet.
func Deadline(t *v1alpha1.TriggerSpec, lastSync *time.Time, loc *time.Location) (*time.Time, error) {
	sched, err := scheduleOf(t)
	if sched == nil || err != nil || lastSync == nil {
		return nil, err
	}
	n, err := next(sched, *t.Schedule, *lastSync, loc)
	if err != nil {
		return nil, err
	}
	d, err := next(sched, *t.Schedule, n, loc)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// MissedInterval reports whether, at now, a Schedule trigger is past its Deadline: now is at
// or after Next(Next(lastSync)). Completing exactly on that slot counts as missed because
// the next slot is then computed strictly after it, so the slot itself is skipped.
//
// For the volsync_volume_out_of_sync gauge call it at every reconcile with the current
// lastSyncTime (a never-synchronized object is out of sync too; that is the caller's check,
// MissedInterval is false without lastSync). For volsync_missed_intervals_total call it once
// per completion with the previous lastSyncTime and the completion time: a synchronization
// that spans several slots counts one miss.
func MissedInterval(t *v1alpha1.TriggerSpec, lastSync *time.Time, now time.Time, loc *time.Location) (bool, error) {
	d, err := Deadline(t, lastSync, loc)
	if d == nil || err != nil {
		return false, err
	}
	return !now.Before(*d), nil
}
