package v1alpha1

import "time"

// Annotations and labels that users, runbooks and other operators rely on.
const (
	// PrivilegedMoversNamespaceAnnotation on a Namespace, set to "true" (any case), lets
	// movers in it run privileged (as root, keeping file ownership).
	PrivilegedMoversNamespaceAnnotation = "volsync.backube/privileged-movers"
	// EnableDebugMoverAnnotation on a ReplicationSource or ReplicationDestination, with
	// any value, starts the mover in debug mode (DEBUG_MOVER=1).
	EnableDebugMoverAnnotation = "volsync.backube/enable-debug-mover"
	// DoNotDeleteLabel on a destination VolumeSnapshot keeps it when a newer image replaces it.
	DoNotDeleteLabel = "volsync.backube/do-not-delete"
	// CleanupLabel marks objects that are deleted at the end of a synchronization.
	CleanupLabel = "volsync.backube/cleanup"
	// CreatedByLabel marks objects created by VolSync; its value is CreatedByValue.
	CreatedByLabel = "app.kubernetes.io/created-by"
	// CreatedByValue is the value of CreatedByLabel.
	CreatedByValue = "volsync"
	// SnapshotNameAnnotation on a destination PVC holds the name of the snapshot being
	// taken of it.
	SnapshotNameAnnotation = "volsync.backube/snapname"

	// UseCopyTriggerAnnotation on a source PVC, with any value, makes the source wait for
	// CopyTriggerAnnotation to change before copying the volume.
	UseCopyTriggerAnnotation = "volsync.backube/use-copy-trigger"
	// CopyTriggerAnnotation on a source PVC is set by the user to release a copy.
	CopyTriggerAnnotation = "volsync.backube/copy-trigger"
	// LatestCopyTriggerAnnotation on a source PVC is the last copy-trigger value acted on.
	LatestCopyTriggerAnnotation = "volsync.backube/latest-copy-trigger"
	// LatestCopyStatusAnnotation on a source PVC is the state of the copy: one of the
	// CopyTriggerStatus values.
	LatestCopyStatusAnnotation = "volsync.backube/latest-copy-status"
	// LatestCopyTriggerWaitingSinceAnnotation on a source PVC is when (RFC 3339) the
	// source started waiting for a new copy-trigger value.
	LatestCopyTriggerWaitingSinceAnnotation = "volsync.backube/latest-copy-trigger-waiting-since"

	// PopulatorSnapshotLabelPrefix + the UID of a PVC being populated from a
	// ReplicationDestination, with the PVC's name as value, marks the VolumeSnapshot the volume
	// populator restores from: a destination's cleanup leaves such a snapshot to the populator.
	PopulatorSnapshotLabelPrefix = "volsync.backube/volpop-pvc-"
	// PopulatorPVCForLabel, with the user's PVC name as value, is on the volume populator's
	// temporary PVC (vs-prime-<PVC UID>).
	PopulatorPVCForLabel = "volsync.backube/populator-pvc-for"
	// PopulatedFromAnnotation on a PersistentVolume the volume populator bound to a user's PVC
	// is <namespace>/<VolumeSnapshot name>.
	PopulatedFromAnnotation = "volsync.backube/populated-from"
)

// Values of LatestCopyStatusAnnotation.
const (
	CopyTriggerStatusWaitingForTrigger = "WaitingForTrigger"
	CopyTriggerStatusInProgress        = "InProgress"
	CopyTriggerStatusCompleted         = "Completed"
)

// CopyTriggerWaitTimeout is how long a source waits for a new copy-trigger value before it
// reports a failure (it keeps waiting afterwards).
const CopyTriggerWaitTimeout = 10 * time.Minute

// The Synchronizing condition and its reasons.
const (
	ConditionSynchronizing = "Synchronizing"

	SynchronizingReasonSync    = "SyncInProgress"
	SynchronizingReasonSched   = "WaitingForSchedule"
	SynchronizingReasonManual  = "WaitingForManual"
	SynchronizingReasonCleanup = "CleaningUp"
	SynchronizingReasonError   = "Error"
)
