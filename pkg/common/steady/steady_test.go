package steady

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
)

func spec(paused bool, node string) Spec {
	owner := &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "u"}}
	s := Spec{Pod: jobs.Spec{Name: "volsync-rs", Owner: owner, Container: "mover", Image: "img", Paused: paused,
		Labels: map[string]string{"app.kubernetes.io/name": "rs"}}}
	if node != "" {
		s.Pod.NodeSelector = map[string]string{"kubernetes.io/hostname": node}
	}
	return s
}

func TestBuild(t *testing.T) {
	d := Build(spec(false, ""))
	if ptr.Deref(d.Spec.Replicas, 0) != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType ||
		d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("replicas %v strategy %s restart %s", d.Spec.Replicas, d.Spec.Strategy.Type, d.Spec.Template.Spec.RestartPolicy)
	}
	if d.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "rs" || d.Spec.Template.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
		t.Errorf("selector %v labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	if p := Build(spec(true, "")); ptr.Deref(p.Spec.Replicas, 1) != 0 {
		t.Error("a paused mover has no replica")
	}
	if Build(spec(false, "a")).Annotations[SpecHashAnnotation] == d.Annotations[SpecHashAnnotation] {
		t.Error("placement is part of the hash: the pod follows the application")
	}
}

func TestKeepPlacement(t *testing.T) {
	have := Build(spec(false, "node-a"))
	want := Build(spec(false, ""))
	keepPlacement(want, have)
	if want.Annotations[SpecHashAnnotation] != have.Annotations[SpecHashAnnotation] {
		t.Error("with no application pod the Deployment keeps its placement (no rewrite)")
	}
	moved := Build(spec(false, "node-b"))
	keepPlacement(moved, have)
	if moved.Spec.Template.Spec.NodeSelector["kubernetes.io/hostname"] != "node-b" {
		t.Error("a new placement replaces the old one")
	}
}

func TestFailing(t *testing.T) {
	pod := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "mover", RestartCount: 4,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "line one\ndata directory /data is not writable"}},
	}}}}
	if got, want := failing(pod), "container mover keeps exiting (4 restarts), last exit code 1: data directory /data is not writable"; got != want {
		t.Errorf("failing: %q, want %q", got, want)
	}
	pod.Status.ContainerStatuses[0].State.Waiting = nil
	if got := failing(pod); got != "" {
		t.Errorf("a running pod: %q", got)
	}
}
