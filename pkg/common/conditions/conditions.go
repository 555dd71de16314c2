package conditions

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Messages of the Synchronizing condition (the reference implementation's wording).
const (
	MessageSyncing  = "Synchronization in-progress"
	MessageSchedule = "Waiting for next scheduled synchronization"
	MessageManual   = "Waiting for manual trigger"
	MessageCleanup  = "Cleaning up"
	// maxMessageLength keeps condition messages within the API's limit (32768) with margin.
	maxMessageLength = 4096
)

// Synchronizing builds the Synchronizing condition for a reason and message.
func Synchronizing(reason, message string, generation int64) metav1.Condition {
	status := metav1.ConditionFalse
	if reason == v1alpha1.SynchronizingReasonSync {
		status = metav1.ConditionTrue
	}
	if len(message) > maxMessageLength {
		message = message[:maxMessageLength-3] + "..."
	}
	return metav1.Condition{
		Type:               v1alpha1.ConditionSynchronizing,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
	}
}

// Set puts c into conds. The transition time changes only when the status changes, and
// nothing changes when the condition is already as given (so an idle reconcile writes nothing).
func Set(conds *[]metav1.Condition, c metav1.Condition, now metav1.Time) {
	c.LastTransitionTime = now
	apimeta.SetStatusCondition(conds, c)
}

// Get returns the Synchronizing condition, or nil.
func Get(conds []metav1.Condition) *metav1.Condition {
	return apimeta.FindStatusCondition(conds, v1alpha1.ConditionSynchronizing)
}
