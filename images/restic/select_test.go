package main

import (
	"testing"
	"time"
)

// TestSelectSnapshot: snapshots in any order; the newest at or before asOf, after skipping
// previous.
func TestSelectSnapshot(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	snaps := []Snapshot{{ID: "b", Time: t0.Add(time.Hour)}, {ID: "c", Time: t0.Add(2 * time.Hour)}, {ID: "a", Time: t0}}
	for _, c := range []struct {
		asOf     time.Time
		previous int
		want     string
	}{
		{time.Time{}, 0, "c"}, {time.Time{}, 2, "a"}, {time.Time{}, 3, ""},
		{t0.Add(90 * time.Minute), 0, "b"}, {t0.Add(time.Hour), 0, "b"}, {t0.Add(time.Hour), 1, "a"},
		{t0.Add(-time.Second), 0, ""},
	} {
		got, ok := selectSnapshot(snaps, c.asOf, c.previous)
		if got.ID != c.want || ok != (c.want != "") {
			t.Errorf("asOf %v previous %d: got %q %v, want %q", c.asOf, c.previous, got.ID, ok, c.want)
		}
	}
}

// TestRedactor: the repository's secrets are masked, other values are not.
func TestRedactor(t *testing.T) {
	env := map[string]string{"RESTIC_PASSWORD": "pw-1234", "AWS_SECRET_ACCESS_KEY": "abc/def+ghi", "AWS_DEFAULT_REGION": "eu-west-1",
		"RESTIC_REPOSITORY": "rest:https://user:hunter22@host/repo"}
	r := NewRedactor(func(k string) string { return env[k] }, []string{"RCLONE_CONFIG_X_PASS=rclonepass", "RCLONE_TRANSFERS=1234"})
	got := r.Mask("pw-1234 abc/def+ghi eu-west-1 hunter22 rclonepass 1234")
	if want := "*** *** eu-west-1 *** *** 1234"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
