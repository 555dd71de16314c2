//go:build e2e

package scenario

import (
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// Side is one side of a replication, a ReplicationSource or a ReplicationDestination, for the
// waits and checks that do not care which: the object suites of object-store movers (whose
// sides sync on their own, each against the store) wait on one side at a time.
type Side interface {
	// Object is the API object itself (the client knows its type, not the wrapper's).
	Object() client.Object
	// Common is the object's common status, nil before it has one.
	Common() *v1alpha1.CommonStatus
	// setManual sets spec.trigger to a manual trigger of value (in memory).
	setManual(value string)
}

// SourceSide is a ReplicationSource as a Side.
type SourceSide struct{ *v1alpha1.ReplicationSource }

// Object returns the ReplicationSource.
func (s SourceSide) Object() client.Object { return s.ReplicationSource }

// Common returns the source's common status.
func (s SourceSide) Common() *v1alpha1.CommonStatus { return SourceStatus(s.ReplicationSource) }

func (s SourceSide) setManual(value string) {
	s.Spec.Trigger = &v1alpha1.ReplicationSourceTriggerSpec{Manual: value}
}

// DestinationSide is a ReplicationDestination as a Side.
type DestinationSide struct {
	*v1alpha1.ReplicationDestination
}

// Object returns the ReplicationDestination.
func (d DestinationSide) Object() client.Object { return d.ReplicationDestination }

// Common returns the destination's common status.
func (d DestinationSide) Common() *v1alpha1.CommonStatus {
	return DestinationStatus(d.ReplicationDestination)
}

func (d DestinationSide) setManual(value string) {
	d.Spec.Trigger = &v1alpha1.ReplicationDestinationTriggerSpec{Manual: value}
}

// SideName names a side in messages: "source <name>" or "destination <name>".
func SideName(s Side) string {
	if _, ok := s.(SourceSide); ok {
		return "source " + s.Object().GetName()
	}
	return "destination " + s.Object().GetName()
}

// Refresh reads a side's object again from the cluster.
func Refresh(t *testing.T, s Side) {
	t.Helper()
	cluster.Must(t, cluster.C.Get(cluster.Ctx(t, deleteTimeout), client.ObjectKeyFromObject(s.Object()), s.Object()))
}

// SetManual sets a side's trigger to the manual trigger value (replacing a schedule or no
// trigger).
func SetManual(t *testing.T, s Side, value string) {
	t.Helper()
	Update(t, s.Object(), SideName(s)+" trigger "+value, func(client.Object) { s.setManual(value) })
}

// WaitSynced waits (SyncTimeout) for one side to record the manual sync value, checks what
// every completed synchronization reports (a Successful mover and lastSyncTime), and returns
// the side's common status.
func WaitSynced(t *testing.T, s Side, value string) *v1alpha1.CommonStatus {
	t.Helper()
	ctx := cluster.Ctx(t, SyncTimeout+time.Minute)
	cluster.Eventually(t, SyncTimeout, SideName(s)+" lastManualSync "+value, func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(s.Object()), s.Object()); err != nil {
			return err
		}
		if st := s.Common(); st == nil || st.LastManualSync != value {
			return errors.New(Describe(st))
		}
		return nil
	})
	st := s.Common()
	if ms := st.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultSuccessful {
		t.Fatalf("%s synced %q, but latestMoverStatus is %+v", SideName(s), value, ms)
	}
	if st.LastSyncTime == nil {
		t.Fatalf("%s synced %q without lastSyncTime", SideName(s), value)
	}
	t.Logf("%s synced %q; mover: %s", SideName(s), value, st.LatestMoverStatus.Logs)
	return st
}

// WaitFailed waits (ErrorTimeout) for a side to report a failed synchronization (the Error
// reason and a Failed mover) whose condition passes check, and returns the condition.
func WaitFailed(t *testing.T, s Side, check func(*metav1.Condition) error) *metav1.Condition {
	t.Helper()
	ctx := cluster.Ctx(t, ErrorTimeout+time.Minute)
	var cond *metav1.Condition
	cluster.Eventually(t, ErrorTimeout, SideName(s)+" to report the failure", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(s.Object()), s.Object()); err != nil {
			return err
		}
		st := s.Common()
		if cond = Condition(st); cond == nil || cond.Reason != v1alpha1.SynchronizingReasonError {
			return fmt.Errorf("condition: %s", Describe(st))
		}
		if ms := st.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultFailed {
			return fmt.Errorf("latestMoverStatus: %+v", ms)
		}
		return check(cond)
	})
	t.Logf("%s reported: %s", SideName(s), Describe(s.Common()))
	return cond
}

// ExpectJobStarted waits for the TransferStarted event of the object owner in ns, and checks
// that it names the Job job.
func ExpectJobStarted(t *testing.T, ns, owner, job string) {
	t.Helper()
	expectJobStarted(t, ns, owner, job)
}
