package pit

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
)

// eventMatcher matches an Event by type, reason and action, regarding the fixture's owner.
func (f *fixture) eventMatcher(kind, reason, action string) func(*eventsv1.Event) bool {
	return func(e *eventsv1.Event) bool {
		return e.Type == kind && e.Reason == reason && e.Action == action && e.Regarding.Name == f.h.Owner.GetName()
	}
}

// TestEventsReachTheAPIServer sends the Handler's events through a real recorder: the
// events.k8s.io API rejects an Event without an action, which the not-bound warnings had.
func TestEventsReachTheAPIServer(t *testing.T) {
	f := newFixture(t, false)
	f.h.Events = events.For(env.EventRecorder(t, "volsync-test"), f.h.Owner)
	f.pvc("data", "1Gi")
	opts := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone}
	if _, _, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(PVCBindTimeout + 2*time.Second)
	if _, _, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil {
		t.Fatal(err)
	}
	// A caller that forgets the action still gets its event through.
	f.h.Events.Warning(nil, events.ReasonSyncError, "", "no action given")

	got := env.WaitForEvents(f.ctx, t, f.ns,
		f.eventMatcher(corev1.EventTypeNormal, events.ReasonPVCCreated, events.ActionCreatePVC),
		f.eventMatcher(corev1.EventTypeWarning, events.ReasonPVCNotBound, events.ActionWaitForBinding),
		f.eventMatcher(corev1.EventTypeWarning, events.ReasonSyncError, events.ActionReconcile),
	)
	if rel := got[1].Related; rel == nil || rel.Kind != "PersistentVolumeClaim" || rel.Name != pitName {
		t.Errorf("the not-bound warning's related object = %+v, want PersistentVolumeClaim %s", rel, pitName)
	}
	mustContain(t, got[1].Note, "waiting for PersistentVolumeClaim/volsync-owner-src to bind")
}
