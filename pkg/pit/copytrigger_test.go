package pit

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
)

// setTrigger plays the user setting the copy-trigger annotation.
func (f *fixture) setTrigger(value string) {
	f.t.Helper()
	p := f.getPVC("data")
	base := p.DeepCopy()
	p.Annotations[v1alpha1.CopyTriggerAnnotation] = value
	if err := env.Client.Patch(f.ctx, p, client.MergeFrom(base)); err != nil {
		f.t.Fatal(err)
	}
}

func TestCopyTriggerClone(t *testing.T) {
	f := newFixture(t, false)
	f.pvc("data", "1Gi", func(p *corev1.PersistentVolumeClaim) {
		p.Annotations = map[string]string{v1alpha1.UseCopyTriggerAnnotation: "yes"}
	})
	opts := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone}
	copyOf := func() (*corev1.PersistentVolumeClaim, *Wait) {
		t.Helper()
		pvc, w, err := f.h.SourceCopy(f.ctx, opts, "data")
		if err != nil {
			t.Fatal(err)
		}
		return pvc, w
	}

	// No trigger yet: wait, recording when the wait began.
	pvc, w := copyOf()
	if pvc != nil || w == nil || w.Failed {
		t.Fatalf("got %v %+v, want a wait", pvc, w)
	}
	if w.RequeueAfter <= 0 || w.RequeueAfter > v1alpha1.CopyTriggerWaitTimeout {
		t.Errorf("requeue = %v, want the timeout", w.RequeueAfter)
	}
	if w.RequeueAfter > CopyTriggerPoll {
		t.Errorf("requeue = %v: source PVCs are not watched, a waiting source must poll every %v", w.RequeueAfter, CopyTriggerPoll)
	}
	src := f.getPVC("data")
	if got := src.Annotations[v1alpha1.LatestCopyStatusAnnotation]; got != v1alpha1.CopyTriggerStatusWaitingForTrigger {
		t.Errorf("status = %q", got)
	}
	since := src.Annotations[v1alpha1.LatestCopyTriggerWaitingSinceAnnotation]
	if ts, err := time.Parse(time.RFC3339, since); err != nil || f.clock.Now().Sub(ts) > time.Second {
		t.Errorf("waiting-since = %q, want the clock's now", since)
	}
	ev := f.rec.last(t, events.ReasonSrcPVCWaitingForCopyTrigger)
	if ev.Action != events.ActionCopyTrigger || ev.Related != "data" {
		t.Errorf("event = %+v", ev)
	}

	// Waiting on: no write, no new event.
	f.clock.Step(time.Minute)
	if _, w = copyOf(); w == nil || w.Failed {
		t.Fatalf("want a wait, got %+v", w)
	}
	if f.getPVC("data").ResourceVersion != src.ResourceVersion || f.rec.count(events.ReasonSrcPVCWaitingForCopyTrigger) != 1 {
		t.Errorf("waiting again wrote the source PVC or emitted an event")
	}

	// Timeout: a failure, reported once, still waiting.
	f.clock.Step(10 * time.Minute)
	for range 3 {
		pvc, w = copyOf()
		if pvc != nil || w == nil || !w.Failed {
			t.Fatalf("after the timeout: %v %+v, want a failed wait", pvc, w)
		}
	}
	mustContain(t, w.Message, "timed out waiting for annotation volsync.backube/copy-trigger on PersistentVolumeClaim/data")
	if n := f.rec.count(events.ReasonSrcPVCTimeoutWaitingForTrigger); n != 1 {
		t.Errorf("%d timeout warnings, want 1", n)
	}
	if f.rec.last(t, events.ReasonSrcPVCTimeoutWaitingForTrigger).Type != corev1.EventTypeWarning {
		t.Errorf("timeout event is not a warning")
	}
	if f.exists(&corev1.PersistentVolumeClaim{}, pitName) {
		t.Fatalf("clone made before the trigger")
	}

	// The trigger: the clone is made.
	f.setTrigger("t1")
	pvc, _ = copyOf()
	if pvc == nil {
		t.Fatalf("no clone after the trigger")
	}
	src = f.getPVC("data")
	if got := src.Annotations[v1alpha1.LatestCopyStatusAnnotation]; got != v1alpha1.CopyTriggerStatusInProgress {
		t.Errorf("status = %q, want InProgress", got)
	}
	if _, has := src.Annotations[v1alpha1.LatestCopyTriggerWaitingSinceAnnotation]; has {
		t.Errorf("waiting-since kept: %v", src.Annotations)
	}
	if f.rec.count(events.ReasonSrcPVCCopyTriggerReceived) != 1 {
		t.Errorf("no trigger-received event")
	}

	// Not complete until the clone binds.
	copyOf()
	if got := f.getPVC("data").Annotations[v1alpha1.LatestCopyStatusAnnotation]; got != v1alpha1.CopyTriggerStatusInProgress {
		t.Errorf("status = %q before binding, want InProgress", got)
	}
	f.bind(pitName, "1Gi")
	copyOf()
	src = f.getPVC("data")
	if src.Annotations[v1alpha1.LatestCopyStatusAnnotation] != v1alpha1.CopyTriggerStatusCompleted ||
		src.Annotations[v1alpha1.LatestCopyTriggerAnnotation] != "t1" {
		t.Errorf("annotations after binding = %v, want Completed and latest t1", src.Annotations)
	}
	if f.rec.count(events.ReasonSrcPVCCopyTriggerCompleted) != 1 {
		t.Errorf("no completed event")
	}
	copyOf()
	if f.getPVC("data").ResourceVersion != src.ResourceVersion {
		t.Errorf("completed copy written again")
	}

	// Next iteration (the clone cleaned up): the same trigger waits again.
	p := f.getPVC(pitName)
	p.Finalizers = nil
	if err := env.Client.Update(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	if pvc, w = copyOf(); pvc != nil || w == nil || w.Failed {
		t.Fatalf("next iteration: %v %+v, want a wait", pvc, w)
	}
	if got := f.getPVC("data").Annotations[v1alpha1.LatestCopyStatusAnnotation]; got != v1alpha1.CopyTriggerStatusWaitingForTrigger {
		t.Errorf("status = %q, want WaitingForTrigger", got)
	}
}

func TestCopyTriggerSnapshot(t *testing.T) {
	f := newFixture(t, false)
	f.pvc("data", "1Gi", func(p *corev1.PersistentVolumeClaim) {
		p.Annotations = map[string]string{v1alpha1.UseCopyTriggerAnnotation: "", v1alpha1.CopyTriggerAnnotation: "a"}
	})
	opts := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot}
	if _, w, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil || w == nil || w.Failed {
		t.Fatalf("%+v %v", w, err)
	}
	if !f.exists(&corev1.PersistentVolumeClaim{}, "data") || f.getSnap(pitName) == nil {
		t.Fatal("no snapshot")
	}
	if got := f.getPVC("data").Annotations[v1alpha1.LatestCopyStatusAnnotation]; got != v1alpha1.CopyTriggerStatusInProgress {
		t.Errorf("status = %q, want InProgress", got)
	}
	f.snapStatus(pitName, true, ptr(true), "1Gi")
	if pvc, _, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil || pvc == nil {
		t.Fatalf("%v %v", pvc, err)
	}
	src := f.getPVC("data")
	if src.Annotations[v1alpha1.LatestCopyStatusAnnotation] != v1alpha1.CopyTriggerStatusCompleted ||
		src.Annotations[v1alpha1.LatestCopyTriggerAnnotation] != "a" {
		t.Errorf("annotations = %v", src.Annotations)
	}
}
