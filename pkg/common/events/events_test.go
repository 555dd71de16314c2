package events

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// actions records the action of each event it is given.
type actions []string

func (a *actions) Eventf(_, _ runtime.Object, _, _, action, _ string, _ ...any) {
	*a = append(*a, action)
}

// TestEmptyActionNeverSent: the events.k8s.io API rejects an event without an action, so the
// Recorder must never pass one on.
func TestEmptyActionNeverSent(t *testing.T) {
	rec := &actions{}
	r := For(rec, &corev1.ConfigMap{})
	r.Warning(nil, ReasonPVCNotBound, "", "waiting for %s", "x")
	r.Normal(nil, ReasonPVCCreated, ActionCreatePVC, "created")
	want := []string{ActionReconcile, ActionCreatePVC}
	if len(*rec) != len(want) || (*rec)[0] != want[0] || (*rec)[1] != want[1] {
		t.Fatalf("actions sent %q, want %q", *rec, want)
	}
}
