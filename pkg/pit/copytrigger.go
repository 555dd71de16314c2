package pit

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
)

// usesCopyTrigger reports whether the source PVC asks VolSync to wait for its copy-trigger.
func usesCopyTrigger(src *corev1.PersistentVolumeClaim) bool {
	_, ok := src.GetAnnotations()[v1alpha1.UseCopyTriggerAnnotation]
	return ok
}

// copyTriggerWait is called before the point-in-time copy of src is made. It returns a Wait
// while the source PVC's copy-trigger has not changed since the last copy (reporting a failure
// once CopyTriggerWaitTimeout has passed), and nil (with the status InProgress) when the copy
// may be made.
func (h Handler) copyTriggerWait(ctx context.Context, src *corev1.PersistentVolumeClaim) (*Wait, error) {
	if !usesCopyTrigger(src) {
		return nil, nil
	}
	// Waiting for the user to change the trigger: src is read live at every look, not once
	// per synchronization.
	defer h.users().Forget(src)
	ann := src.GetAnnotations()
	trigger := ann[v1alpha1.CopyTriggerAnnotation]
	srcName := events.KindName(kindPVC, src.Name)
	status := v1alpha1.CopyTriggerStatusInProgress
	if trigger == "" || trigger == ann[v1alpha1.LatestCopyTriggerAnnotation] {
		status = v1alpha1.CopyTriggerStatusWaitingForTrigger
	}
	newStatus := ann[v1alpha1.LatestCopyStatusAnnotation] != status
	if newStatus {
		log.FromContext(ctx).Info("Recording copy-trigger status", "persistentVolumeClaim", src.Name, "status", status)
	}

	if status == v1alpha1.CopyTriggerStatusInProgress {
		conflict, err := h.patchObj(ctx, src, true, func(o client.Object) bool {
			return setAnnotations(o, map[string]*string{
				v1alpha1.LatestCopyStatusAnnotation:              &status,
				v1alpha1.LatestCopyTriggerWaitingSinceAnnotation: nil,
				CopyTriggerTimeoutAnnotation:                     nil,
			})
		})
		if err != nil {
			return nil, err
		}
		if conflict {
			return conflictWait(srcName), nil
		}
		if newStatus {
			h.Events.Normal(src, events.ReasonSrcPVCCopyTriggerReceived, events.ActionCopyTrigger,
				"Received updated copy trigger on src PVC %s, proceeding to create snapshot or clone", srcName)
		}
		return nil, nil
	}

	now := h.clock().Now().UTC()
	sinceText := ann[v1alpha1.LatestCopyTriggerWaitingSinceAnnotation]
	since, perr := time.Parse(time.RFC3339, sinceText)
	if newStatus || perr != nil {
		since = now.Truncate(time.Second)
		sinceText = since.Format(time.RFC3339)
	}
	waited := now.Sub(since)
	timedOut := waited >= v1alpha1.CopyTriggerWaitTimeout
	report := timedOut && ann[CopyTriggerTimeoutAnnotation] != sinceText
	want := map[string]*string{
		v1alpha1.LatestCopyStatusAnnotation:              &status,
		v1alpha1.LatestCopyTriggerWaitingSinceAnnotation: &sinceText,
	}
	if report {
		want[CopyTriggerTimeoutAnnotation] = &sinceText
	}
	conflict, err := h.patchObj(ctx, src, true, func(o client.Object) bool { return setAnnotations(o, want) })
	if err != nil {
		return nil, err
	}
	if conflict {
		return conflictWait(srcName), nil
	}
	if newStatus {
		h.Events.Normal(src, events.ReasonSrcPVCWaitingForCopyTrigger, events.ActionCopyTrigger,
			"Waiting on copy trigger on src PVC %s before creating snapshot or clone", srcName)
	}
	if timedOut {
		msg := "timed out waiting for annotation " + v1alpha1.CopyTriggerAnnotation + " on " + srcName +
			" to change (waiting since " + sinceText + "); check PVC annotations"
		if report {
			h.Events.Warning(src, events.ReasonSrcPVCTimeoutWaitingForTrigger, events.ActionCopyTrigger, "%s", msg)
		}
		return &Wait{Message: msg, Failed: true}, nil
	}
	return &Wait{
		Message:      "waiting for annotation " + v1alpha1.CopyTriggerAnnotation + " on " + srcName + " to change",
		RequeueAfter: min(CopyTriggerPoll, v1alpha1.CopyTriggerWaitTimeout-waited),
	}, nil
}

// copyTriggerCompleted records on src that the copy it triggered is done. Only a copy that was
// InProgress completes, so a trigger the user sets after that is kept for the next copy.
func (h Handler) copyTriggerCompleted(ctx context.Context, src *corev1.PersistentVolumeClaim) (*Wait, error) {
	if !usesCopyTrigger(src) {
		return nil, nil
	}
	ann := src.GetAnnotations()
	if ann[v1alpha1.LatestCopyStatusAnnotation] != v1alpha1.CopyTriggerStatusInProgress {
		return nil, nil
	}
	status := v1alpha1.CopyTriggerStatusCompleted
	trigger := ann[v1alpha1.CopyTriggerAnnotation]
	log.FromContext(ctx).Info("Recording copy-trigger status", "persistentVolumeClaim", src.Name, "status", status)
	srcName := events.KindName(kindPVC, src.Name)
	conflict, err := h.patchObj(ctx, src, true, func(o client.Object) bool {
		return setAnnotations(o, map[string]*string{
			v1alpha1.LatestCopyStatusAnnotation:              &status,
			v1alpha1.LatestCopyTriggerAnnotation:             &trigger,
			v1alpha1.LatestCopyTriggerWaitingSinceAnnotation: nil,
			CopyTriggerTimeoutAnnotation:                     nil,
		})
	})
	if err != nil {
		return nil, err
	}
	if conflict {
		return conflictWait(srcName), nil
	}
	h.Events.Normal(src, events.ReasonSrcPVCCopyTriggerCompleted, events.ActionCopyTrigger,
		"snapshot or clone complete for src PVC %s using copy trigger", srcName)
	return nil, nil
}

// conflictWait is the Wait after an expected race on obj.
func conflictWait(obj string) *Wait {
	return &Wait{Message: "waiting for " + obj + " to settle", RequeueAfter: ConflictRetry}
}
