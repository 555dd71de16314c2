package events

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Event reasons (the reference implementation's, so alerts and runbooks keep working).
const (
	ReasonTransferStarted                = "TransferStarted"
	ReasonTransferFailed                 = "TransferFailed"
	ReasonVolumeSnapshotCreated          = "VolumeSnapshotCreated"
	ReasonVolumeSnapshotNotBound         = "VolumeSnapshotNotBound"
	ReasonPVCCreated                     = "PersistentVolumeClaimCreated"
	ReasonPVCNotBound                    = "PersistentVolumeClaimNotBound"
	ReasonServiceAddressAssigned         = "ServiceAddressAssigned"
	ReasonNoServiceAddressAssigned       = "NoServiceAddressAssigned"
	ReasonSrcPVCWaitingForCopyTrigger    = "SrcPVCWaitingForCopyTrigger"
	ReasonSrcPVCTimeoutWaitingForTrigger = "SrcPVCTimeoutWaitingForCopyTrigger"
	ReasonSrcPVCCopyTriggerReceived      = "SrcPVCCopyTriggerReceived"
	ReasonSrcPVCCopyTriggerCompleted     = "SrcPVCCopyUsingCopyTriggerCompleted"
	// ReasonSyncError is emitted when a synchronization cannot proceed (bad input, missing
	// objects, API errors); the Synchronizing condition carries the same message.
	ReasonSyncError = "SynchronizationError"
	// ReasonSyncCompleted is emitted when a synchronization completes.
	ReasonSyncCompleted = "SynchronizationCompleted"
)

// Event actions.
const (
	ActionCreateMover       = "CreateMover"
	ActionDeleteMover       = "DeleteMover"
	ActionCreateSnapshot    = "CreateVolumeSnapshot"
	ActionCreatePVC         = "CreatePersistentVolumeClaim"
	ActionCopyTrigger       = "CreateSrcCopyUsingCopyTrigger"
	ActionSynchronize       = "Synchronize"
	ActionWaitForBinding    = "WaitForBinding"
	ActionAssignAddress     = "AssignAddress"
	ActionValidateInput     = "ValidateInput"
	ActionRetryAfterFailure = "RetryAfterFailure"
	ActionComplete          = "CompleteSynchronization"
)

// Recorder emits events about one VolSync object.
type Recorder struct {
	rec   events.EventRecorder
	owner runtime.Object
}

// For returns a Recorder whose events regard owner. A nil rec discards events.
func For(rec events.EventRecorder, owner runtime.Object) Recorder {
	return Recorder{rec: rec, owner: owner}
}

// Normal emits a Normal event; related may be nil.
func (r Recorder) Normal(related runtime.Object, reason, action, note string, args ...any) {
	r.emit(corev1.EventTypeNormal, related, reason, action, note, args...)
}

// Warning emits a Warning event; related may be nil.
func (r Recorder) Warning(related runtime.Object, reason, action, note string, args ...any) {
	r.emit(corev1.EventTypeWarning, related, reason, action, note, args...)
}

func (r Recorder) emit(kind string, related runtime.Object, reason, action, note string, args ...any) {
	if r.rec == nil {
		return
	}
	if related != nil {
		if o, ok := related.(client.Object); ok && o.GetName() == "" {
			related = nil
		}
	}
	r.rec.Eventf(r.owner, related, kind, reason, action, note, args...)
}

// KindName returns "Kind/name" for an object whose kind is set, else its name.
func KindName(kind, name string) string {
	return kind + "/" + name
}
