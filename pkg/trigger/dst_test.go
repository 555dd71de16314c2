package trigger

import (
	"testing"
	"time"
)

// TestDSTBoundaries pins what robfig/cron does across the 2026 New York transitions
// (spring forward 8 March 02:00 EST -> 03:00 EDT, fall back 1 November 02:00 EDT -> 01:00 EST)
// and that UTC has no such effects. Wall-clock slots that do not exist are skipped; slots that
// occur twice fire twice; schedules on every hour or minute fire once per elapsed interval.
func TestDSTBoundaries(t *testing.T) {
	ny := newYork(t)
	est := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, time.FixedZone("EST", -5*3600))
	}
	edt := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, time.FixedZone("EDT", -4*3600))
	}
	u := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
	}
	tests := []struct {
		name string
		expr string
		loc  *time.Location
		from time.Time
		want []time.Time
	}{
		{"daily 02:30 is skipped on the spring-forward day", "30 2 * * *", ny, est(3, 7, 2, 35),
			[]time.Time{edt(3, 9, 2, 30), edt(3, 10, 2, 30)}},
		{"daily 02:30 fires once on the fall-back day", "30 2 * * *", ny, edt(10, 31, 2, 35),
			[]time.Time{est(11, 1, 2, 30), est(11, 2, 2, 30)}},
		{"daily 01:30 fires twice on the fall-back day", "30 1 * * *", ny, edt(10, 31, 1, 35),
			[]time.Time{edt(11, 1, 1, 30), est(11, 1, 1, 30), est(11, 2, 1, 30)}},
		{"hourly jumps the missing hour on spring forward", "0 * * * *", ny, est(3, 8, 0, 30),
			[]time.Time{est(3, 8, 1, 0), edt(3, 8, 3, 0), edt(3, 8, 4, 0)}},
		{"hourly fires in both 01:00 hours on fall back", "0 * * * *", ny, edt(11, 1, 0, 30),
			[]time.Time{edt(11, 1, 1, 0), est(11, 1, 1, 0), est(11, 1, 2, 0)}},
		{"@hourly across fall back", "@hourly", ny, edt(11, 1, 0, 30),
			[]time.Time{edt(11, 1, 1, 0), est(11, 1, 1, 0), est(11, 1, 2, 0)}},
		{"@daily across spring forward is 23 hours apart", "@daily", ny, est(3, 7, 12, 0),
			[]time.Time{est(3, 8, 0, 0), edt(3, 9, 0, 0)}},
		{"@daily across fall back is 25 hours apart", "@daily", ny, edt(10, 31, 12, 0),
			[]time.Time{edt(11, 1, 0, 0), est(11, 2, 0, 0)}},
		{"UTC daily 02:30 on the New York spring-forward day", "30 2 * * *", time.UTC, u(3, 7, 2, 35),
			[]time.Time{u(3, 8, 2, 30), u(3, 9, 2, 30)}},
		{"UTC hourly on the New York fall-back night", "0 * * * *", time.UTC, u(11, 1, 5, 30),
			[]time.Time{u(11, 1, 6, 0), u(11, 1, 7, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lastSync := tt.from.In(time.UTC) // status times arrive in any zone; loc decides
			for i, want := range tt.want {
				got, err := NextSyncTime(scheduled(tt.expr), &lastSync, time.Time{}, tt.loc, "")
				if err != nil {
					t.Fatalf("NextSyncTime: %v", err)
				}
				if !got.Equal(want) {
					t.Fatalf("slot %d after %s = %s, want %s", i, lastSync.In(tt.loc), got, want)
				}
				if got.Location() != tt.loc {
					t.Errorf("slot %d is in %s, want %s", i, got.Location(), tt.loc)
				}
				lastSync = *got
			}
		})
	}
}

// TestDSTElapsed checks real elapsed time between consecutive slots, which is what requeues
// and missed-interval deadlines are made of.
func TestDSTElapsed(t *testing.T) {
	ny := newYork(t)
	tests := []struct {
		name string
		expr string
		from time.Time
		want []time.Duration
	}{
		{"hourly over spring forward", "0 * * * *", time.Date(2026, 3, 8, 0, 0, 0, 0, ny),
			[]time.Duration{time.Hour, time.Hour, time.Hour, time.Hour}},
		{"hourly over fall back", "0 * * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, ny),
			[]time.Duration{time.Hour, time.Hour, time.Hour, time.Hour}},
		{"daily 02:30 over spring forward", "30 2 * * *", time.Date(2026, 3, 7, 2, 30, 0, 0, ny),
			[]time.Duration{47 * time.Hour, 24 * time.Hour}},
		{"daily 01:30 over fall back", "30 1 * * *", time.Date(2026, 10, 31, 1, 30, 0, 0, ny),
			[]time.Duration{24 * time.Hour, time.Hour, 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched, err := ParseSchedule(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			at := tt.from
			for i, want := range tt.want {
				n := sched.Next(at)
				if got := n.Sub(at); got != want {
					t.Fatalf("gap %d after %s = %s, want %s", i, at, got, want)
				}
				at = n
			}
		})
	}
}
