//go:build e2e

package scenario

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// Deadlines of the scenarios.
const (
	// SyncTimeout bounds one synchronization, from trigger to lastManualSync.
	SyncTimeout = 6 * time.Minute
	// ErrorTimeout bounds how long a failing synchronization may take to say so.
	ErrorTimeout = 3 * time.Minute
	// deleteTimeout bounds the garbage collection of what an object created.
	deleteTimeout = 3 * time.Minute
	// publishTimeout bounds a new destination's publishing of its address and keys.
	publishTimeout = 2 * time.Minute
)

// Condition returns the Synchronizing condition of a status, or nil.
func Condition(st *v1alpha1.CommonStatus) *metav1.Condition {
	if st == nil {
		return nil
	}
	for i := range st.Conditions {
		if st.Conditions[i].Type == v1alpha1.ConditionSynchronizing {
			return &st.Conditions[i]
		}
	}
	return nil
}

// SourceStatus returns rs's common status, or nil.
func SourceStatus(rs *v1alpha1.ReplicationSource) *v1alpha1.CommonStatus {
	if rs.Status == nil {
		return nil
	}
	return &rs.Status.CommonStatus
}

// DestinationStatus returns rd's common status, or nil.
func DestinationStatus(rd *v1alpha1.ReplicationDestination) *v1alpha1.CommonStatus {
	if rd.Status == nil {
		return nil
	}
	return &rd.Status.CommonStatus
}

// Describe summarises a status for failure messages and logs.
func Describe(st *v1alpha1.CommonStatus) string {
	if st == nil {
		return "no status"
	}
	c := Condition(st)
	if c == nil {
		return "no condition"
	}
	s := fmt.Sprintf("%s: %s (lastManualSync %q)", c.Reason, c.Message, st.LastManualSync)
	if st.LatestMoverStatus != nil {
		s += fmt.Sprintf("; mover %s: %s", st.LatestMoverStatus.Result, st.LatestMoverStatus.Logs)
	}
	return s
}

// WaitManual waits for both sides to record the manual sync value.
func WaitManual(t *testing.T, rs *v1alpha1.ReplicationSource, rd *v1alpha1.ReplicationDestination, value string) {
	t.Helper()
	ctx := cluster.Ctx(t, SyncTimeout)
	cluster.Eventually(t, SyncTimeout, "lastManualSync "+value, func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(rs), rs); err != nil {
			return err
		}
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(rd), rd); err != nil {
			return err
		}
		if rs.Status == nil || rs.Status.LastManualSync != value {
			return fmt.Errorf("source: %s", Describe(SourceStatus(rs)))
		}
		if rd.Status == nil || rd.Status.LastManualSync != value {
			return fmt.Errorf("destination: %s", Describe(DestinationStatus(rd)))
		}
		return nil
	})
}

// WaitSourceFailed waits for rs to report a failed synchronization: the Error reason,
// latestMoverStatus Failed, and whatever check (on the condition) adds. It returns the
// condition.
func WaitSourceFailed(t *testing.T, rs *v1alpha1.ReplicationSource, check func(*metav1.Condition) error) *metav1.Condition {
	t.Helper()
	ctx := cluster.Ctx(t, ErrorTimeout)
	var cond *metav1.Condition
	cluster.Eventually(t, ErrorTimeout, "the source to report the failure", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(rs), rs); err != nil {
			return err
		}
		cond = Condition(SourceStatus(rs))
		if cond == nil || cond.Reason != v1alpha1.SynchronizingReasonError {
			return fmt.Errorf("condition: %s", Describe(SourceStatus(rs)))
		}
		if ms := rs.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultFailed {
			return fmt.Errorf("latestMoverStatus: %+v", ms)
		}
		return check(cond)
	})
	t.Logf("reported: %s", Describe(SourceStatus(rs)))
	return cond
}

// Update gets obj, applies change and updates it, retrying on conflicts.
func Update[T client.Object](t *testing.T, obj T, what string, change func(T)) {
	t.Helper()
	ctx := cluster.Ctx(t, time.Minute)
	cluster.Eventually(t, time.Minute, what, func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change(obj)
		return cluster.C.Update(ctx, obj)
	})
}

// Trigger sets the manual trigger of both sides, the destination first.
func Trigger(t *testing.T, rs *v1alpha1.ReplicationSource, rd *v1alpha1.ReplicationDestination, value string) {
	t.Helper()
	Update(t, rd, "destination trigger "+value, func(rd *v1alpha1.ReplicationDestination) {
		rd.Spec.Trigger = &v1alpha1.ReplicationDestinationTriggerSpec{Manual: value}
	})
	Update(t, rs, "source trigger "+value, func(rs *v1alpha1.ReplicationSource) {
		rs.Spec.Trigger = &v1alpha1.ReplicationSourceTriggerSpec{Manual: value}
	})
}

// UpdateCopyMethod changes the source's copy method.
func UpdateCopyMethod(t *testing.T, m Mover, rs *v1alpha1.ReplicationSource, method v1alpha1.CopyMethodType) {
	t.Helper()
	Update(t, rs, "copyMethod "+string(method), func(rs *v1alpha1.ReplicationSource) { m.SetCopyMethod(rs, method) })
}
