package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(reg)
	o := Object{Name: "db", Namespace: "app", Role: "source", Method: "rsync-tls"}
	s.SetOutOfSync(o, true)
	s.MissedInterval(o)
	s.MissedInterval(o)
	s.ObserveDuration(o, 90*time.Second)
	s.SetOutOfSync(o, false)

	want := `
# HELP volsync_missed_intervals_total The number of times a synchronization failed to complete before the next scheduled start
# TYPE volsync_missed_intervals_total counter
volsync_missed_intervals_total{method="rsync-tls",obj_name="db",obj_namespace="app",role="source"} 2
# HELP volsync_volume_out_of_sync Set to 1 if the volume is not properly synchronized
# TYPE volsync_volume_out_of_sync gauge
volsync_volume_out_of_sync{method="rsync-tls",obj_name="db",obj_namespace="app",role="source"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "volsync_missed_intervals_total", "volsync_volume_out_of_sync"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(s.duration); n != 1 {
		t.Fatalf("want one duration series, got %d", n)
	}
	s.Forget(o)
	if n := testutil.CollectAndCount(s.missed) + testutil.CollectAndCount(s.duration) + testutil.CollectAndCount(s.outOfSync); n != 0 {
		t.Fatalf("series left after Forget: %d", n)
	}
}
