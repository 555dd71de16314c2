package kube

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Synchronizing returns the Synchronizing condition of a status (nil if none).
func Synchronizing(st *v1alpha1.CommonStatus) *metav1.Condition {
	if st == nil {
		return nil
	}
	return meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionSynchronizing)
}

// Describe says where a synchronization is, for progress lines: the condition's reason and
// message.
func Describe(st *v1alpha1.CommonStatus) string {
	c := Synchronizing(st)
	if c == nil {
		return "no status yet"
	}
	return fmt.Sprintf("%s: %s", c.Reason, c.Message)
}

// FailedSince returns the Error message of the Synchronizing condition when it was observed
// at generation gen or later (so an error left from before the command's own change does not
// count), else "".
func FailedSince(st *v1alpha1.CommonStatus, gen int64) string {
	c := Synchronizing(st)
	if c == nil || c.Reason != v1alpha1.SynchronizingReasonError || c.ObservedGeneration < gen {
		return ""
	}
	return c.Message
}
