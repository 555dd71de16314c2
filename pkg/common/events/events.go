package events

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
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
	// ReasonDaemonConnected: a steady mover's daemon answered with its identity (syncthing's
	// device ID, new or changed).
	ReasonDaemonConnected = "DaemonConnected"
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
	ActionConnect           = "ConnectToDaemon"
	// ActionReconcile stands in for a missing action (see Recorder).
	ActionReconcile = "Reconcile"
)

// Recorder emits events about one VolSync object. Every event needs an action: the
// events.k8s.io API rejects one without, and the event is lost. An empty action is replaced
// by ActionReconcile (logged at V(1), so the caller can be fixed).
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
	if action == "" {
		logf.Log.WithName("events").V(1).Info("Event without an action; sending it with a stand-in",
			"reason", reason, "action", ActionReconcile)
		action = ActionReconcile
	}
	r.rec.Eventf(r.owner, related, kind, reason, action, note, args...)
}

// KindName returns "Kind/name" for an object whose kind is set, else its name.
func KindName(kind, name string) string {
	return kind + "/" + name
}
