package trigger

import (
	"testing"
	"time"
	_ "time/tzdata" // America/New_York must load on machines without a zoneinfo database.

	"github.com/volsync-go/volsync/api/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

// utc is a UTC instant on 2026-01-15, the base date of most tests (a Thursday).
func utc(hour, minute, second int) time.Time {
	return time.Date(2026, time.January, 15, hour, minute, second, 0, time.UTC)
}

func scheduled(expr string) *v1alpha1.TriggerSpec { return &v1alpha1.TriggerSpec{Schedule: &expr} }

func manual(value string) *v1alpha1.TriggerSpec { return &v1alpha1.TriggerSpec{Manual: value} }

func newYork(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("loading America/New_York: %v", err)
	}
	return loc
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "<nil>"
	}
	return t.Format(time.RFC3339)
}
