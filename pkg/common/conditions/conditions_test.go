package conditions

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func TestSynchronizing(t *testing.T) {
	cases := []struct {
		reason string
		want   metav1.ConditionStatus
	}{
		{v1alpha1.SynchronizingReasonSync, metav1.ConditionTrue},
		{v1alpha1.SynchronizingReasonSched, metav1.ConditionFalse},
		{v1alpha1.SynchronizingReasonManual, metav1.ConditionFalse},
		{v1alpha1.SynchronizingReasonCleanup, metav1.ConditionFalse},
		{v1alpha1.SynchronizingReasonError, metav1.ConditionFalse},
	}
	for _, tc := range cases {
		c := Synchronizing(tc.reason, "m", 3)
		if c.Status != tc.want || c.Type != v1alpha1.ConditionSynchronizing || c.ObservedGeneration != 3 {
			t.Errorf("%s: got %+v", tc.reason, c)
		}
	}
	long := Synchronizing(v1alpha1.SynchronizingReasonError, strings.Repeat("x", 10000), 1)
	if len(long.Message) != maxMessageLength || !strings.HasSuffix(long.Message, "...") {
		t.Errorf("long message not truncated: %d", len(long.Message))
	}
}

func TestSetKeepsTransitionTimeWhileStatusHolds(t *testing.T) {
	var conds []metav1.Condition
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	Set(&conds, Synchronizing(v1alpha1.SynchronizingReasonSched, MessageSchedule, 1), t0)
	Set(&conds, Synchronizing(v1alpha1.SynchronizingReasonManual, MessageManual, 1), t1)
	if got := Get(conds); !got.LastTransitionTime.Equal(&t0) || got.Reason != v1alpha1.SynchronizingReasonManual {
		t.Fatalf("status False -> False must keep the transition time and take the new reason: %+v", got)
	}
	Set(&conds, Synchronizing(v1alpha1.SynchronizingReasonSync, MessageSyncing, 1), t1)
	if got := Get(conds); !got.LastTransitionTime.Equal(&t1) || got.Status != metav1.ConditionTrue {
		t.Fatalf("status change must move the transition time: %+v", got)
	}
	if len(conds) != 1 {
		t.Fatalf("want one condition, got %d", len(conds))
	}
}
