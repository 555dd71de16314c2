//go:build e2e

package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RunPod creates a pod that runs to completion (its restart policy is set to Never), waits
// for it to succeed or fail within timeout, deletes it, and returns its logs; a failed or
// unfinished pod returns an error with its logs instead of failing the test, so callers may
// retry.
func RunPod(t *testing.T, pod *corev1.Pod, timeout time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	if err := C.Create(ctx, pod); err != nil {
		return "", fmt.Errorf("creating pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	defer func() { _ = C.Delete(context.Background(), pod, client.GracePeriodSeconds(0)) }()
	interval := firstPoll
	for {
		err := C.Get(ctx, client.ObjectKeyFromObject(pod), pod)
		switch {
		case err == nil && pod.Status.Phase == corev1.PodSucceeded:
			return Logs(t, pod.Namespace, pod.Name), nil
		case err == nil && pod.Status.Phase == corev1.PodFailed:
			return "", fmt.Errorf("pod %s/%s failed: %s", pod.Namespace, pod.Name, Logs(t, pod.Namespace, pod.Name))
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return "", fmt.Errorf("pod %s/%s not finished after %s (phase %s): %s", pod.Namespace, pod.Name,
				timeout, pod.Status.Phase, Logs(t, pod.Namespace, pod.Name))
		}
		time.Sleep(interval)
		interval = min(2*interval, maxPoll)
	}
}
