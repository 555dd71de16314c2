package trigger

import (
	"fmt"
	"testing"
	"time"
)

// uid is a stand-in object UID.
func uid(i int) string { return fmt.Sprintf("3f0c6a52-%04x-4a8e-9d3b-%012x", i, i*7919) }

func TestSpreadForStaysWithinItsBound(t *testing.T) {
	for _, tt := range []struct {
		interval, bound time.Duration
	}{
		{time.Minute, 6 * time.Second},
		{5 * time.Minute, 30 * time.Second},
		{time.Hour, MaxScheduleSpread},
		{24 * time.Hour, MaxScheduleSpread},
	} {
		var maxSeen time.Duration
		for i := range 2000 {
			d := SpreadFor(uid(i), tt.interval)
			if d < 0 || d >= tt.bound || d%time.Second != 0 {
				t.Fatalf("interval %s: spread %s outside [0, %s) or not whole seconds", tt.interval, d, tt.bound)
			}
			if d != SpreadFor(uid(i), tt.interval) {
				t.Fatalf("spread of one object changes between calls")
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen < tt.bound-time.Second {
			t.Errorf("interval %s: largest spread %s of 2000 objects; the bound %s is not used", tt.interval, maxSeen, tt.bound)
		}
	}
	if d := SpreadFor("", time.Hour); d != 0 {
		t.Errorf("no key: spread %s, want 0", d)
	}
}

// TestSchedulesSpreadAcrossSeconds: 2,000 objects on the same every-minute schedule get
// nextSyncTimes spread over the first 6 s after the slot, evenly enough that no second holds
// much more than its share.
func TestSchedulesSpreadAcrossSeconds(t *testing.T) {
	const n = 2000
	last := utc(10, 5, 30)
	slot := utc(10, 6, 0)
	perSecond := map[int64]int{}
	for i := range n {
		next, err := NextSyncTime(scheduled("*/1 * * * *"), &last, time.Time{}, time.UTC, uid(i))
		if err != nil {
			t.Fatal(err)
		}
		if next.Before(slot) || !next.Before(slot.Add(6*time.Second)) {
			t.Fatalf("object %d: nextSyncTime %s outside [%s, +6s)", i, next, slot)
		}
		perSecond[next.Unix()]++
	}
	if len(perSecond) != 6 {
		t.Errorf("starts fall into %d distinct seconds, want 6: %v", len(perSecond), perSecond)
	}
	for sec, c := range perSecond {
		if c > n/6*13/10 {
			t.Errorf("%d of %d objects start in second %s", c, n, time.Unix(sec, 0).UTC())
		}
	}
}

// TestDecideWaitsForTheSpreadStart: an object does not start at the bare slot but at its
// nextSyncTime, and the requeue lands there.
func TestDecideWaitsForTheSpreadStart(t *testing.T) {
	last := utc(10, 5, 30)
	key := uid(42)
	spread := SpreadFor(key, time.Hour)
	if spread == 0 {
		t.Fatal("test key has no spread; pick another")
	}
	slot := utc(11, 0, 0)
	st := Status{LastSyncTime: &last, Key: key}
	d, err := Decide(scheduled("0 * * * *"), st, time.Time{}, slot, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if d.Sync || d.RequeueAfter != spread || !d.NextSyncTime.Equal(slot.Add(spread)) {
		t.Fatalf("at the slot: %+v, want to wait %s until %s", d, spread, slot.Add(spread))
	}
	d, err = Decide(scheduled("0 * * * *"), st, time.Time{}, slot.Add(spread), time.UTC)
	if err != nil || !d.Sync {
		t.Fatalf("at slot+spread: %+v, %v; want Sync", d, err)
	}
	// Completing after the spread start does not skip the following slot.
	done := slot.Add(spread + 10*time.Second)
	next, err := NextSyncTime(scheduled("0 * * * *"), &done, time.Time{}, time.UTC, key)
	if err != nil || !next.Equal(utc(12, 0, 0).Add(spread)) {
		t.Fatalf("after a sync that ended at %s: next %v, %v; want %s", done, next, err, utc(12, 0, 0).Add(spread))
	}
	if missed, _ := MissedInterval(scheduled("0 * * * *"), &done, utc(12, 0, 0).Add(spread+time.Minute), time.UTC); missed {
		t.Error("a sync running in its spread window counts as a missed interval")
	}
}
