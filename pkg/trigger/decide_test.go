package trigger

import (
	"errors"
	"testing"
	"time"

	"github.com/volsync-go/volsync/api/v1alpha1"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		t    *v1alpha1.TriggerSpec
		want Kind
	}{
		{"nil trigger", nil, Always},
		{"empty trigger", &v1alpha1.TriggerSpec{}, Always},
		{"blank schedule", scheduled("  "), Always},
		{"empty schedule", scheduled(""), Always},
		{"schedule", scheduled("0 * * * *"), Schedule},
		{"manual", manual("now"), Manual},
		{"manual wins over schedule", &v1alpha1.TriggerSpec{Schedule: ptr("0 * * * *"), Manual: "x"}, Manual},
		{"empty manual with schedule", &v1alpha1.TriggerSpec{Schedule: ptr("0 * * * *"), Manual: ""}, Schedule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.t); got != tt.want {
				t.Errorf("KindOf = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	created := utc(9, 12, 0)
	last := utc(10, 5, 30)
	hourly := scheduled("0 * * * *")
	tests := []struct {
		name    string
		t       *v1alpha1.TriggerSpec
		st      Status
		now     time.Time
		want    Decision
		wantErr error
	}{
		{"always: first sync", nil, Status{}, created, Decision{Sync: true}, nil},
		{"always: back to back", nil, Status{LastSyncTime: &last}, last, Decision{Sync: true}, nil},
		{"empty manual without schedule is always", manual(""), Status{LastSyncTime: &last, LastManualSync: "a"}, last,
			Decision{Sync: true}, nil},
		{"manual set at creation syncs now", manual("a"), Status{}, created, Decision{Sync: true}, nil},
		{"manual already done", manual("a"), Status{LastSyncTime: &last, LastManualSync: "a"}, utc(23, 0, 0),
			Decision{Waiting: WaitingManual}, nil},
		{"manual changed", manual("b"), Status{LastSyncTime: &last, LastManualSync: "a"}, utc(10, 6, 0),
			Decision{Sync: true}, nil},
		{"manual hides an invalid schedule", &v1alpha1.TriggerSpec{Schedule: ptr("99 * * * *"), Manual: "a"},
			Status{LastSyncTime: &last, LastManualSync: "a"}, last, Decision{Waiting: WaitingManual}, nil},
		{"schedule: first sync right after creation", hourly, Status{}, created,
			Decision{Sync: true, NextSyncTime: ptr(utc(10, 0, 0))}, nil},
		{"schedule: waiting", hourly, Status{LastSyncTime: &last}, utc(10, 30, 0),
			Decision{NextSyncTime: ptr(utc(11, 0, 0)), RequeueAfter: 30 * time.Minute, Waiting: WaitingSchedule}, nil},
		{"schedule: one second early", hourly, Status{LastSyncTime: &last}, utc(10, 59, 59),
			Decision{NextSyncTime: ptr(utc(11, 0, 0)), RequeueAfter: time.Second, Waiting: WaitingSchedule}, nil},
		{"schedule: exactly on the slot syncs", hourly, Status{LastSyncTime: &last}, utc(11, 0, 0),
			Decision{Sync: true, NextSyncTime: ptr(utc(11, 0, 0))}, nil},
		{"schedule: overdue after controller downtime", hourly, Status{LastSyncTime: &last}, utc(13, 30, 0),
			Decision{Sync: true, NextSyncTime: ptr(utc(11, 0, 0))}, nil},
		{"schedule: completion on a slot waits for the following one", hourly,
			Status{LastSyncTime: ptr(utc(11, 0, 0))}, utc(11, 0, 0),
			Decision{NextSyncTime: ptr(utc(12, 0, 0)), RequeueAfter: time.Hour, Waiting: WaitingSchedule}, nil},
		{"schedule: sub-second completion rounds up to the next second", hourly,
			Status{LastSyncTime: ptr(utc(10, 59, 59).Add(500 * time.Millisecond))}, utc(10, 59, 59).Add(600 * time.Millisecond),
			Decision{NextSyncTime: ptr(utc(11, 0, 0)), RequeueAfter: 400 * time.Millisecond, Waiting: WaitingSchedule}, nil},
		{"running sync: nothing to decide", hourly, Status{LastSyncTime: &last, LastSyncStartTime: ptr(utc(11, 0, 0))},
			utc(12, 30, 0), Decision{NextSyncTime: ptr(utc(11, 0, 0))}, nil},
		{"running manual sync", manual("b"), Status{LastSyncStartTime: ptr(utc(11, 0, 0)), LastManualSync: "a"},
			utc(12, 30, 0), Decision{}, nil},
		{"invalid schedule", scheduled("0 0 * * 8"), Status{LastSyncTime: &last}, last, Decision{}, ErrInvalidSchedule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decide(tt.t, tt.st, created, tt.now, time.UTC)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got.Sync != tt.want.Sync || got.RequeueAfter != tt.want.RequeueAfter || got.Waiting != tt.want.Waiting ||
				!sameTime(got.NextSyncTime, tt.want.NextSyncTime) {
				t.Errorf("Decide =\n  {Sync:%v Next:%s Requeue:%s Waiting:%q}\nwant\n  {Sync:%v Next:%s Requeue:%s Waiting:%q}",
					got.Sync, fmtTime(got.NextSyncTime), got.RequeueAfter, got.Waiting,
					tt.want.Sync, fmtTime(tt.want.NextSyncTime), tt.want.RequeueAfter, tt.want.Waiting)
			}
		})
	}
}

// machine drives Decide the way the controller's state machine does, with the manual value
// recorded either at the start of a synchronization (VolSync-Go) or at its completion (the
// reference implementation, which absorbed values changed mid-sync).
type machine struct {
	t             *testing.T
	spec          v1alpha1.TriggerSpec
	st            Status
	created       time.Time
	recordAtStart bool
	manualAtStart string
	syncs, missed int
}

// reconcile starts a synchronization when Decide says so and reports whether it did.
func (m *machine) reconcile(now time.Time) bool {
	m.t.Helper()
	d, err := Decide(&m.spec, m.st, m.created, now, time.UTC)
	if err != nil {
		m.t.Fatalf("Decide at %s: %v", now, err)
	}
	if !d.Sync {
		return false
	}
	m.st.LastSyncStartTime = &now
	m.manualAtStart = m.spec.Manual
	m.syncs++
	return true
}

// complete finishes the running synchronization, counting a missed interval at most once.
func (m *machine) complete(now time.Time) {
	m.t.Helper()
	if m.st.LastSyncStartTime == nil {
		m.t.Fatalf("complete at %s without a running sync", now)
	}
	missed, err := MissedInterval(&m.spec, m.st.LastSyncTime, now, time.UTC)
	if err != nil {
		m.t.Fatal(err)
	}
	if missed {
		m.missed++
	}
	m.st.LastSyncTime = &now
	m.st.LastSyncStartTime = nil
	if m.recordAtStart {
		m.st.LastManualSync = m.manualAtStart
	} else {
		m.st.LastManualSync = m.spec.Manual
	}
}

func TestManualChangedMidSync(t *testing.T) {
	tests := []struct {
		name          string
		recordAtStart bool
		wantSyncs     int
		wantLast      string
	}{
		{"value recorded at start: the change gets its own sync", true, 3, "b"},
		{"reference rule (copied at completion): the change is absorbed", false, 2, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &machine{t: t, created: utc(9, 0, 0), recordAtStart: tt.recordAtStart}
			m.spec.Manual = "a"
			if !m.reconcile(utc(9, 0, 0)) {
				t.Fatal("manual value at creation did not start the first sync")
			}
			m.complete(utc(9, 5, 0))
			if m.reconcile(utc(9, 6, 0)) {
				t.Fatal("unchanged manual value started a sync")
			}

			m.spec.Manual = "a2" // a new request
			if !m.reconcile(utc(10, 0, 0)) {
				t.Fatal("changed manual value did not start a sync")
			}
			m.spec.Manual = "b" // changed again while that sync runs
			if m.reconcile(utc(10, 1, 0)) {
				t.Fatal("a sync started while one is running")
			}
			m.complete(utc(10, 5, 0))
			m.reconcile(utc(10, 6, 0))
			if m.st.LastSyncStartTime != nil {
				m.complete(utc(10, 10, 0))
			}
			if m.reconcile(utc(10, 11, 0)) {
				t.Fatal("sync started with nothing new requested")
			}
			if m.syncs != tt.wantSyncs || m.st.LastManualSync != tt.wantLast {
				t.Errorf("syncs = %d, lastManualSync = %q; want %d, %q", m.syncs, m.st.LastManualSync, tt.wantSyncs, tt.wantLast)
			}
		})
	}
}

func TestScheduleEditedWhileIdle(t *testing.T) {
	last := utc(10, 5, 0)
	st := Status{LastSyncTime: &last}
	tests := []struct {
		name     string
		schedule string
		now      time.Time
		wantSync bool
		wantNext time.Time
	}{
		{"before the edit: hourly waits for 11:00", "0 * * * *", utc(10, 20, 0), false, utc(11, 0, 0)},
		{"edited to every 15 minutes: 10:15 is already due", "*/15 * * * *", utc(10, 20, 0), true, utc(10, 15, 0)},
		{"edited to daily at 06:00: tomorrow", "0 6 * * *", utc(10, 20, 0), false, time.Date(2026, 1, 16, 6, 0, 0, 0, time.UTC)},
		{"edited to an earlier slot today: counted from the last sync, not now", "10 10 * * *", utc(10, 20, 0), true, utc(10, 10, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decide(scheduled(tt.schedule), st, utc(0, 0, 0), tt.now, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if d.Sync != tt.wantSync || !d.NextSyncTime.Equal(tt.wantNext) {
				t.Errorf("Decide = {Sync:%v Next:%s}, want {Sync:%v Next:%s}", d.Sync, fmtTime(d.NextSyncTime), tt.wantSync, tt.wantNext)
			}
			if !d.Sync && d.RequeueAfter != tt.wantNext.Sub(tt.now) {
				t.Errorf("RequeueAfter = %s, want %s", d.RequeueAfter, tt.wantNext.Sub(tt.now))
			}
		})
	}
}

func TestMissedIntervalCountedOnce(t *testing.T) {
	tests := []struct {
		name       string
		finish     time.Time
		wantMissed int
		wantNext   time.Time
	}{
		{"short sync", utc(1, 10, 0), 0, utc(2, 0, 0)},
		{"finishes just before the following slot", utc(1, 59, 59), 0, utc(2, 0, 0)},
		{"finishes on the following slot, which is skipped", utc(2, 0, 0), 1, utc(3, 0, 0)},
		{"spans three slots", utc(4, 30, 0), 1, utc(5, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &machine{t: t, spec: *scheduled("0 * * * *"), created: utc(0, 0, 0)}
			m.st.LastSyncTime = ptr(utc(0, 5, 0))
			if !m.reconcile(utc(1, 0, 0)) {
				t.Fatal("slot 01:00 did not start a sync")
			}
			// Reconciles during the sync never count.
			for now := utc(1, 0, 0); now.Before(tt.finish); now = now.Add(10 * time.Minute) {
				if m.reconcile(now) {
					t.Fatalf("sync started at %s while one runs", now)
				}
			}
			m.complete(tt.finish)
			if m.missed != tt.wantMissed {
				t.Errorf("missed intervals = %d, want %d", m.missed, tt.wantMissed)
			}
			d, err := Decide(&m.spec, m.st, m.created, tt.finish, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if !d.NextSyncTime.Equal(tt.wantNext) {
				t.Errorf("next = %s, want %s", fmtTime(d.NextSyncTime), tt.wantNext)
			}
		})
	}
}

func TestMissedIntervalGauge(t *testing.T) {
	hourly := scheduled("0 * * * *")
	last := utc(4, 30, 0) // next slot 05:00, deadline 06:00
	tests := []struct {
		name     string
		t        *v1alpha1.TriggerSpec
		lastSync *time.Time
		now      time.Time
		want     bool
	}{
		{"idle, next slot not reached", hourly, &last, utc(4, 31, 0), false},
		{"idle, next slot passed but not its deadline", hourly, &last, utc(5, 59, 59), false},
		{"idle, deadline reached", hourly, &last, utc(6, 0, 0), true},
		{"idle, long past the deadline", hourly, &last, utc(9, 0, 0), true},
		{"never synced: the caller's check, not a missed interval", hourly, nil, utc(9, 0, 0), false},
		{"manual never misses", manual("x"), &last, utc(23, 0, 0), false},
		{"always never misses", nil, &last, utc(23, 0, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MissedInterval(tt.t, tt.lastSync, tt.now, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("MissedInterval at %s = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
	if _, err := MissedInterval(scheduled("x"), &last, last, time.UTC); !errors.Is(err, ErrInvalidSchedule) {
		t.Errorf("invalid schedule: error = %v, want ErrInvalidSchedule", err)
	}
	d, err := Deadline(hourly, &last, time.UTC)
	if err != nil || !d.Equal(utc(6, 0, 0)) {
		t.Errorf("Deadline = %s, %v; want %s", fmtTime(d), err, utc(6, 0, 0))
	}
}

func TestJitter(t *testing.T) {
	const limit = DefaultJitter
	seen := map[time.Duration]bool{}
	for i := range 1000 {
		key := "ns/rs-" + time.Duration(i).String()
		j := Jitter(key, limit)
		if j < 0 || j >= limit {
			t.Fatalf("Jitter(%q) = %s, outside [0, %s)", key, j, limit)
		}
		if again := Jitter(key, limit); again != j {
			t.Fatalf("Jitter(%q) is not stable: %s then %s", key, j, again)
		}
		seen[j.Truncate(time.Second)] = true
	}
	if len(seen) < int(limit/time.Second) {
		t.Errorf("1000 keys fell in %d of %d seconds", len(seen), limit/time.Second)
	}
	for _, limit := range []time.Duration{0, -time.Second} {
		if j := Jitter("k", limit); j != 0 {
			t.Errorf("Jitter with limit %s = %s, want 0", limit, j)
		}
	}
}
