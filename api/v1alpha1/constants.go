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
