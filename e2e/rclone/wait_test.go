//go:build e2e

package rclone

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
)

// Deadlines of the cases.
const (
	// syncTimeout bounds one side's synchronization, from trigger to lastManualSync.
	syncTimeout = 5 * time.Minute
	// errorTimeout bounds how long a failing synchronization takes to say so.
	errorTimeout = 3 * time.Minute
	// deleteTimeout bounds the removal of what a deleted object created.
	deleteTimeout = 3 * time.Minute
)

// side is a ReplicationSource or a ReplicationDestination, with its common status.
type side interface {
	// object is the API object itself (the client knows its type, not the wrapper's).
	object() client.Object
	common() *v1alpha1.CommonStatus
}

// src is a ReplicationSource as a side.
type src struct{ *v1alpha1.ReplicationSource }

func (s src) object() client.Object          { return s.ReplicationSource }
func (s src) common() *v1alpha1.CommonStatus { return scenario.SourceStatus(s.ReplicationSource) }

// dst is a ReplicationDestination as a side.
type dst struct {
	*v1alpha1.ReplicationDestination
}

func (d dst) object() client.Object { return d.ReplicationDestination }
func (d dst) common() *v1alpha1.CommonStatus {
	return scenario.DestinationStatus(d.ReplicationDestination)
}

// kind names a side in messages.
func kind(s side) string {
	if _, ok := s.(src); ok {
		return "source " + s.object().GetName()
	}
	return "destination " + s.object().GetName()
}

// moverSummary is what latestMoverStatus.logs says of a successful run: how many files and
// bytes were transferred (the controllers' summary of the mover's result).
var moverSummary = regexp.MustCompile(`^(\d+) files transferred, [0-9.]+ [KMGT]?i?B sent in `)

// filesTransferred returns the number of files a side's latest mover run reports.
func filesTransferred(t *testing.T, s side) int {
	t.Helper()
	logs := s.common().LatestMoverStatus.Logs
	m := moverSummary.FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("%s: latestMoverStatus.logs %q do not say what was transferred", kind(s), logs)
	}
	n, err := strconv.Atoi(m[1])
	cluster.Must(t, err)
	return n
}

// waitSynced waits for one side to record the manual sync value, and checks what a completed
// synchronization reports: a Successful mover whose logs say what it transferred, and
// lastSyncTime.
func waitSynced(t *testing.T, s side, value string) {
	t.Helper()
	ctx := cluster.Ctx(t, syncTimeout)
	cluster.Eventually(t, syncTimeout, kind(s)+" lastManualSync "+value, func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(s.object()), s.object()); err != nil {
			return err
		}
		if st := s.common(); st == nil || st.LastManualSync != value {
			return errors.New(scenario.Describe(st))
		}
		return nil
	})
	st := s.common()
	ms := st.LatestMoverStatus
	if ms == nil || ms.Result != v1alpha1.MoverResultSuccessful {
		t.Fatalf("%s: latestMoverStatus %+v", kind(s), ms)
	}
	filesTransferred(t, s)
	if st.LastSyncTime == nil {
		t.Fatalf("%s synced %q without lastSyncTime", kind(s), value)
	}
	t.Logf("%s synced %q; mover: %s", kind(s), value, st.LatestMoverStatus.Logs)
}

// trigger sets a side's manual trigger.
func trigger(t *testing.T, s side, value string) {
	t.Helper()
	switch o := s.(type) {
	case src:
		scenario.Update(t, o.ReplicationSource, kind(s)+" trigger "+value, func(rs *v1alpha1.ReplicationSource) {
			rs.Spec.Trigger = &v1alpha1.TriggerSpec{Manual: value}
		})
	case dst:
		scenario.Update(t, o.ReplicationDestination, kind(s)+" trigger "+value, func(rd *v1alpha1.ReplicationDestination) {
			rd.Spec.Trigger = &v1alpha1.TriggerSpec{Manual: value}
		})
	}
}

// waitFailed waits for a side to report a failed synchronization (the Error reason and a
// Failed mover) whose condition passes check, and returns the condition.
func waitFailed(t *testing.T, s side, check func(*metav1.Condition) error) *metav1.Condition {
	t.Helper()
	ctx := cluster.Ctx(t, errorTimeout)
	var cond *metav1.Condition
	cluster.Eventually(t, errorTimeout, kind(s)+" to report the failure", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(s.object()), s.object()); err != nil {
			return err
		}
		st := s.common()
		if cond = scenario.Condition(st); cond == nil || cond.Reason != v1alpha1.SynchronizingReasonError {
			return fmt.Errorf("condition: %s", scenario.Describe(st))
		}
		if ms := st.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultFailed {
			return fmt.Errorf("latestMoverStatus: %+v", ms)
		}
		return check(cond)
	})
	t.Logf("%s reported: %s", kind(s), scenario.Describe(s.common()))
	return cond
}

// expectJobStarted waits for the TransferStarted event of a side, and checks that it names
// the mover Job the reference names: volsync-rclone-{src,dst}-<name>.
func expectJobStarted(t *testing.T, s side) {
	t.Helper()
	role := "dst"
	if _, ok := s.(src); ok {
		role = "src"
	}
	o := s.object()
	job := scenario.ShortName("volsync-rclone-"+role+"-", o.GetName())
	cluster.Eventually(t, time.Minute, "TransferStarted event of "+kind(s), func() error {
		var related []string
		for _, e := range cluster.Events(t, o.GetNamespace(), o.GetName()) {
			if e.Reason != "TransferStarted" || e.Related == nil {
				continue
			}
			if e.Related.Kind == "Job" && e.Related.Name == job {
				return nil
			}
			related = append(related, e.Related.Kind+"/"+e.Related.Name)
		}
		return fmt.Errorf("no TransferStarted event for Job %s (events for %v)", job, related)
	})
}
