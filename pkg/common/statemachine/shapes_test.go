package statemachine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/conditions"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// TestActionRequiredStopsFastRetries: a failure the user must fix says what to do and is not
// retried every minute like a transient one.
func TestActionRequiredStopsFastRetries(t *testing.T) {
	m, o, _, _ := setup(nil)
	mv := &fakeMover{syncErr: mover.ActionRequired(errors.New("Secret keys not found"), "create it or set spec.rsync.sshKeys")}
	res, err := m.Run(context.Background(), o, mv)
	if err != nil {
		t.Fatal(err)
	}
	c := conditions.Get(o.Status().Conditions)
	if c.Reason != v1alpha1.SynchronizingReasonError || c.Message != "Secret keys not found; to fix: create it or set spec.rsync.sshKeys" {
		t.Fatalf("condition: %+v", c)
	}
	if res.RequeueAfter < ActionRetryInterval || res.RequeueAfter > ActionRetryInterval+requeueJitter {
		t.Fatalf("an action-required failure must wait %s, got %s", ActionRetryInterval, res.RequeueAfter)
	}
	// A transient failure keeps the short retry.
	m2, o2, _, _ := setup(nil)
	res, _ = m2.Run(context.Background(), o2, &fakeMover{syncErr: errors.New("connection refused")})
	if res.RequeueAfter >= ActionRetryInterval || strings.Contains(conditions.Get(o2.Status().Conditions).Message, "to fix") {
		t.Fatalf("a transient failure: requeue %s, condition %+v", res.RequeueAfter, conditions.Get(o2.Status().Conditions))
	}
}

// TestMoverStatusPublishedWithError: latestMoverStatus is written by the state machine from
// what the step reports, also when the step fails.
func TestMoverStatusPublishedWithError(t *testing.T) {
	m, o, _, _ := setup(nil)
	ms := &v1alpha1.MoverStatus{Result: v1alpha1.MoverResultFailed, Logs: "rsync: connection refused"}
	mv := &fakeMover{sync: mover.Result{MoverStatus: ms}, syncErr: mover.Retry(errors.New("transfer failed"), time.Minute)}
	_, _ = m.Run(context.Background(), o, mv)
	if got := o.Status().LatestMoverStatus; got == nil || *got != *ms {
		t.Fatalf("latestMoverStatus = %+v, want %+v", got, ms)
	}
}

// TestTransferCounted: the bytes and files of a completed run reach the metrics once, when
// the completion is committed.
func TestTransferCounted(t *testing.T) {
	m, o, _, reg := setup(&v1alpha1.TriggerSpec{Manual: "a"})
	mv := &fakeMover{sync: mover.Result{Completed: true, Transfer: &mover.Transfer{Bytes: 4096, Files: 3}}}
	_, _ = m.Run(context.Background(), o, mv)
	if n, _ := testutil.GatherAndCount(reg, "volsync_mover_bytes_transferred_total"); n != 0 {
		t.Fatal("counted before Commit")
	}
	m.Commit()
	for name, want := range map[string]float64{"volsync_mover_bytes_transferred_total": 4096, "volsync_mover_files_transferred_total": 3} {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := -1.0
		for _, mf := range mfs {
			if mf.GetName() == name {
				got = mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		if got != want {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestSteadyMover: a mover that never completes reports whether the data is in sync; the
// status records when it became so (and is not rewritten while it stays so) and the
// out-of-sync gauge follows the mover, not a schedule.
func TestSteadyMover(t *testing.T) {
	m, o, clk, reg := setup(nil)
	mv := &fakeMover{sync: mover.Result{InSync: ptr(false), RetryAfter: time.Minute}}
	ctx := context.Background()
	_, _ = m.Run(ctx, o, mv)
	m.Commit()
	st := o.Status()
	if st.LastSyncTime != nil || outOfSyncGauge(t, reg) != 1 || conditions.Get(st.Conditions).Message != MessageOutOfSync {
		t.Fatalf("not in sync yet: %+v, gauge %v", st, outOfSyncGauge(t, reg))
	}
	clk.Step(time.Minute)
	mv.sync.InSync = ptr(true)
	_, _ = m.Run(ctx, o, mv)
	m.Commit()
	first := st.LastSyncTime
	if first == nil || !first.Time.Equal(clk.Now()) || outOfSyncGauge(t, reg) != 0 || st.LastSyncStartTime == nil {
		t.Fatalf("in sync: %+v, gauge %v", st, outOfSyncGauge(t, reg))
	}
	clk.Step(time.Minute)
	_, _ = m.Run(ctx, o, mv)
	if !st.LastSyncTime.Equal(first) {
		t.Fatal("a steady mover at rest must not rewrite lastSyncTime")
	}
	clk.Step(time.Minute)
	mv.sync.InSync = ptr(false)
	_, _ = m.Run(ctx, o, mv)
	m.Commit()
	if outOfSyncGauge(t, reg) != 1 || !st.LastSyncTime.Equal(first) {
		t.Fatalf("out of sync again: gauge %v, lastSyncTime %v", outOfSyncGauge(t, reg), st.LastSyncTime)
	}
	if mv.cleans != 0 {
		t.Fatal("a steady mover never completes, so it is never cleaned up")
	}
}
