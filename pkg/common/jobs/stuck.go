package jobs

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// PodStuckAfter is how long a running Job may have no ready pod before the controller
	// looks at its pods for a reason they cannot start (an image that cannot be pulled, a
	// missing Secret key, no node to run on) and reports it.
	PodStuckAfter = 2 * time.Minute
	// PodStuckRecheck is how often a mover without a ready pod is looked at again.
	PodStuckRecheck = time.Minute
)

// stuckReasons are the container waiting reasons that do not go away by themselves.
var stuckReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true,
	"CreateContainerConfigError": true, "CreateContainerError": true,
}

// running reports a running Job. One that has had pods but none ready for PodStuckAfter gets
// its pods listed (live; once a minute at most while it stays so): a pod that cannot start is
// an error the condition shows, with Kubernetes' reason, instead of a silent wait.
func (r Runner) running(ctx context.Context, job *batchv1.Job) (Outcome, error) {
	if job.Status.Active == 0 || ptr.Deref(job.Status.Ready, 0) > 0 || ptr.Deref(job.Spec.Parallelism, 1) == 0 {
		return Outcome{Phase: Running}, nil
	}
	age := r.Clock.Since(created(job))
	if age < PodStuckAfter {
		return Outcome{Phase: Running, RetryAfter: PodStuckAfter - age}, nil
	}
	pods := &corev1.PodList{}
	if err := r.APIReader.List(ctx, pods, client.InNamespace(job.Namespace),
		client.MatchingLabels{batchv1.ControllerUidLabel: string(job.UID)}); err != nil {
		return Outcome{}, fmt.Errorf("listing pods of Job %s: %w", job.Name, err)
	}
	for i := range pods.Items {
		if why := CannotStart(&pods.Items[i]); why != "" {
			return Outcome{Phase: Running, RetryAfter: PodStuckRecheck,
				Err: fmt.Errorf("mover pod %s cannot start: %s", pods.Items[i].Name, why)}, nil
		}
	}
	return Outcome{Phase: Running, RetryAfter: PodStuckRecheck}, nil
}

// CannotStart says why a pending pod cannot start, "" when nothing says it cannot.
func CannotStart(pod *corev1.Pod) string {
	if pod.Status.Phase != corev1.PodPending {
		return ""
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return "not schedulable: " + c.Message
		}
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && stuckReasons[w.Reason] {
			return fmt.Sprintf("container %s: %s: %s", cs.Name, w.Reason, w.Message)
		}
	}
	return ""
}
