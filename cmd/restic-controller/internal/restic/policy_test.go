package restic

import (
	"maps"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

func TestForgetOptions(t *testing.T) {
	last := intstr.FromString("3")
	lastInt := intstr.FromInt32(2)
	cases := []struct {
		retain *v1alpha1.ResticRetainPolicy
		want   string
	}{
		{nil, "--keep-last 1"},
		{&v1alpha1.ResticRetainPolicy{}, "--keep-last 1"},
		{&v1alpha1.ResticRetainPolicy{Hourly: ptr.To[int32](24), Daily: ptr.To[int32](7), Weekly: ptr.To[int32](4),
			Monthly: ptr.To[int32](12), Yearly: ptr.To[int32](2), Within: ptr.To("3d12h"), Last: &last},
			"--keep-hourly 24 --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --keep-yearly 2 --keep-within 3d12h --keep-last 3"},
		{&v1alpha1.ResticRetainPolicy{Last: &lastInt}, "--keep-last 2"},
		{&v1alpha1.ResticRetainPolicy{Daily: ptr.To[int32](0)}, "--keep-daily 0"},
	}
	for _, c := range cases {
		if got := forgetOptions(c.retain); got != c.want {
			t.Errorf("forgetOptions(%+v) = %q, want %q", c.retain, got, c.want)
		}
	}
}

// TestWithin: weeks (the reference's documented "3w15h") become days restic understands.
func TestWithin(t *testing.T) {
	for in, want := range map[string]string{"3d12h": "3d12h", "3w15h": "21d15h", "1y2m": "1y2m", "1w2d": "9d",
		"2d1w": "9d", "1y1w3h": "1y7d3h", "12h": "12h"} {
		if got := within(in); got != want {
			t.Errorf("within(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSourceDecisions(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	pruned := &v1alpha1.ReplicationSourceResticStatus{LastPruned: &metav1.Time{Time: created.Add(10 * day)}, LastUnlocked: "a"}
	cases := []struct {
		name     string
		spec     v1alpha1.ReplicationSourceResticSpec
		st       *v1alpha1.ReplicationSourceResticStatus
		now      time.Time
		want     map[string]string
		wantArgs []string
	}{
		{"new object", v1alpha1.ReplicationSourceResticSpec{}, nil, created.Add(time.Hour), map[string]string{}, []string{"backup"}},
		{"7 days after creation", v1alpha1.ReplicationSourceResticSpec{}, nil, created.Add(7*day + time.Second),
			map[string]string{"prune": "true"}, []string{"backup", "prune"}},
		{"interval from the last prune", v1alpha1.ReplicationSourceResticSpec{PruneIntervalDays: ptr.To[int32](2)}, pruned,
			created.Add(11 * day), map[string]string{}, []string{"backup"}},
		{"due after the last prune", v1alpha1.ReplicationSourceResticSpec{PruneIntervalDays: ptr.To[int32](2)}, pruned,
			created.Add(12*day + time.Second), map[string]string{"prune": "true"}, []string{"backup", "prune"}},
		{"unlock asked", v1alpha1.ReplicationSourceResticSpec{Unlock: "b"}, pruned, created.Add(11 * day),
			map[string]string{"unlock": "b"}, []string{"unlock", "backup"}},
		{"unlock done", v1alpha1.ReplicationSourceResticSpec{Unlock: "a"}, pruned, created.Add(11 * day),
			map[string]string{}, []string{"backup"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := sourceDecisions(&c.spec, c.st, created, c.now)
			if !maps.Equal(d, c.want) {
				t.Errorf("decisions %v, want %v", d, c.want)
			}
			if got := sourceActions(d); !slices.Equal(got, c.wantArgs) {
				t.Errorf("actions %v, want %v", got, c.wantArgs)
			}
		})
	}
}

// TestCompletedStatus: lastPruned moves only when the mover reports a prune (the reference
// recorded prunes that never ran: a threshold passed mid-backup, an empty source);
// lastUnlocked takes the value the run unlocked for, even if the spec changed meanwhile.
func TestCompletedStatus(t *testing.T) {
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	before := &metav1.Time{Time: now.Add(-48 * time.Hour)}
	prev := &v1alpha1.ReplicationSourceResticStatus{LastPruned: before, LastUnlocked: "a"}
	cases := []struct {
		name         string
		prev         *v1alpha1.ReplicationSourceResticStatus
		unlock       string
		d, details   map[string]string
		wantPruned   *metav1.Time
		wantUnlocked string
		wantNil      bool
	}{
		{name: "nothing to record", d: map[string]string{}, wantNil: true},
		{name: "pruned", prev: prev, unlock: "a", d: map[string]string{"prune": "true"},
			details: map[string]string{"pruned": "true"}, wantPruned: &metav1.Time{Time: now}, wantUnlocked: "a"},
		{name: "prune decided, the mover did not prune", prev: prev, unlock: "a", d: map[string]string{"prune": "true"},
			details: map[string]string{"snapshotID": "abc"}, wantPruned: before, wantUnlocked: "a"},
		{name: "not decided: no prune recorded", prev: prev, unlock: "a", d: map[string]string{},
			details: map[string]string{}, wantPruned: before, wantUnlocked: "a"},
		{name: "unlocked for b while the spec says c", prev: prev, unlock: "c", d: map[string]string{"unlock": "b"},
			wantPruned: before, wantUnlocked: "b"},
		{name: "unlock cleared", prev: prev, unlock: "", d: map[string]string{}, wantPruned: before},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := completedStatus(c.prev, c.unlock, c.d, c.details, now)
			if c.wantNil {
				if st != nil {
					t.Fatalf("status %+v, want none", st)
				}
				return
			}
			if st == nil || !st.LastPruned.Equal(c.wantPruned) || st.LastUnlocked != c.wantUnlocked {
				t.Fatalf("status %+v, want lastPruned %v lastUnlocked %q", st, c.wantPruned, c.wantUnlocked)
			}
		})
	}
	if prev.LastPruned != before {
		t.Fatal("the previous status was modified")
	}
}

func TestLockHost(t *testing.T) {
	long := "a-very-long-name-0123456789012345678901234567890123456789012345678901234567890123456789"
	seen := map[string]bool{}
	for _, ns := range []string{"ns1", "ns2"} {
		for _, name := range []string{"app", long} {
			for _, role := range []naming.Role{naming.Source, naming.Destination} {
				hn := lockHost(role, ns, name)
				if len(hn) > 63 || seen[hn] {
					t.Fatalf("host name %q (%d bytes, seen %v)", hn, len(hn), seen[hn])
				}
				if hn != lockHost(role, ns, name) {
					t.Fatal("not stable")
				}
				seen[hn] = true
			}
		}
	}
}
