package rclone

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// TestDestinationWaitsForData: a destination whose remote path no source has written yet
// (the mover's result is Waiting) reports it in its Synchronizing condition without an error
// or a warning, and looks again after a delay that doubles; data then completes the
// synchronization.
func TestDestinationWaitsForData(t *testing.T) {
	ctx := lifecycle.Context(t)
	ns := h.Namespace(t, nil)
	vol := lifecycle.DestinationVolumes()
	vol.CopyMethod = v1alpha1.CopyMethodDirect
	rd := h.DestinationWith(ns, "edge", "first", vol)
	h.Create(t, rd)
	name := h.JobName(naming.Destination, "edge")
	const waiting = "no data from a source yet at bucket:volsync/data"
	h.Clock.SetTime(time.Now())

	waitOnce := func(n int) {
		t.Helper()
		job := h.WaitJob(t, ns, name)
		h.MoverPod(t, job, 0, corev1.PodSucceeded, `{"outcome":"Waiting","error":"`+waiting+`"}`)
		h.FinishJob(t, job, true, 0)
		lifecycle.Eventually(t, "the waiting condition", func() error {
			lifecycle.Must(t, h.Get(ctx, ns, rd.Name, rd))
			c := lifecycle.Synchronizing(lifecycle.Common(rd))
			if c == nil || c.Reason != v1alpha1.SynchronizingReasonSync || !strings.Contains(c.Message, "waiting: "+waiting+"; looking again at") {
				return fmt.Errorf("condition %+v", c)
			}
			return nil
		})
		if rd.Status.LastSyncTime != nil || rd.Status.LatestImage != nil {
			t.Fatalf("a waiting destination completed: %+v", rd.Status)
		}
		if ms := rd.Status.LatestMoverStatus; ms != nil {
			t.Fatalf("a run that waited moved nothing, latestMoverStatus %+v", ms)
		}
		if ev := h.EventsFor(t, ns, rd.Name); len(ev["SynchronizationError"])+len(ev["TransferFailed"]) > 0 {
			t.Fatalf("waiting is not an error: %v", ev)
		}
		// Not replaced before its delay (no hot loop), replaced after it, carrying the count.
		delay := jobs.WaitRetryBase << (n - 1)
		oldUID := job.UID
		h.Poke(t, rd)
		lifecycle.Must(t, h.Get(ctx, ns, name, job))
		if job.UID != oldUID {
			t.Fatal("a waiting Job was replaced before its delay")
		}
		h.Clock.Step(delay + time.Second)
		h.Poke(t, rd)
		lifecycle.Eventually(t, "the next Job", func() error {
			if err := h.Get(ctx, ns, name, job); err != nil {
				return err
			}
			if job.UID == oldUID {
				return errors.New("not replaced yet")
			}
			if got := job.Annotations[jobs.WaitedJobsAnnotation]; got != fmt.Sprint(n) {
				return fmt.Errorf("waited-jobs %q, want %d", got, n)
			}
			return nil
		})
	}
	waitOnce(1)
	waitOnce(2)
	// A source has written: this run completes the synchronization.
	h.Succeed(t, ns, name)
	h.WaitSynced(t, rd, "first")
	if img := rd.Status.LatestImage; img == nil || img.Name != h.ProvisionedPVC("edge") {
		t.Fatalf("latestImage %+v, want the PVC %s", img, h.ProvisionedPVC("edge"))
	}
}
