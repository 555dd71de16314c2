package steady

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/volsync-go/volsync/pkg/common/jobs"
)

const (
	// SpecHashAnnotation on the Deployment fingerprints the desired pod template (placement
	// included: the pod follows the application's node), so an unchanged template is not
	// written again.
	SpecHashAnnotation = "volsync.backube/spec-hash"
	// ChangedAnnotation is when the controller last created the Deployment or changed its pod
	// (its clock, RFC 3339): the pod has until PodStuckAfter after it to become ready before
	// its pods are looked at for a reason.
	ChangedAnnotation = "volsync.backube/pod-changed"
	// PodStuckAfter is how long a pod may be unready before the controller looks for why.
	PodStuckAfter = jobs.PodStuckAfter
	// crashLoop is the waiting reason of a container that keeps exiting.
	crashLoop = "CrashLoopBackOff"
)

// ErrNotOwned is returned when a Deployment of the wanted name exists and is not controlled by
// the object; VolSync never adopts it.
var ErrNotOwned = errors.New("deployment exists and is not controlled by this replication object")

// Spec is a steady mover's Deployment.
type Spec struct {
	// Pod is the mover pod (jobs.PodTemplate); Pod.Name names the Deployment and Pod.Labels
	// are its selector. Pod.Paused scales it to zero.
	Pod jobs.Spec
	// Ports the container listens on.
	Ports []corev1.ContainerPort
}

// State is what Ensure observed.
type State struct {
	// Ready: the pod runs and is ready.
	Ready bool
	// Paused: the Deployment is scaled to zero (Spec.Pod.Paused).
	Paused bool
	// Err says why the pod cannot start or keeps failing (nil while there is no reason yet).
	Err error
	// RetryAfter is when to look again without a watch event (0: the Deployment's watch).
	RetryAfter time.Duration
}

// Runner keeps steady movers' Deployments.
type Runner struct {
	// Client reads Deployments from the cache and writes.
	Client client.Client
	// APIReader lists the pods of an unready Deployment, live (rare).
	APIReader client.Reader
	Clock     clock.PassiveClock
}

// Build returns the Deployment of a Spec: a pure function.
func Build(s Spec) *appsv1.Deployment {
	pod := jobs.PodTemplate(s.Pod)
	pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
	pod.Spec.Containers[0].Ports = append([]corev1.ContainerPort(nil), s.Ports...)
	replicas := int32(1)
	if s.Pod.Paused {
		replicas = 0
	}
	selector := maps.Clone(s.Pod.Labels)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Pod.Name, Namespace: s.Pod.Owner.GetNamespace(), Labels: maps.Clone(pod.Labels),
			Annotations: map[string]string{SpecHashAnnotation: jobs.Fingerprint(&pod)},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			// Never two pods on the volume: the old one stops before the new one starts.
			Strategy:             appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			RevisionHistoryLimit: ptr.To(int32(2)),
			Template:             pod,
		},
	}
	return d
}

// Ensure creates the Deployment or brings it to the Spec (pod template, replicas) and reports
// its pod's state. It writes nothing when the Deployment is as desired.
func (r Runner) Ensure(ctx context.Context, s Spec) (State, error) {
	want := Build(s)
	key := client.ObjectKeyFromObject(want)
	d := &appsv1.Deployment{}
	err := r.Client.Get(ctx, key, d)
	switch {
	case apierrors.IsNotFound(err):
		want.Annotations[ChangedAnnotation] = r.Clock.Now().UTC().Format(time.RFC3339)
		if err := controllerutil.SetControllerReference(s.Pod.Owner, want, r.Client.Scheme()); err != nil {
			return State{}, err
		}
		log.FromContext(ctx).Info("Creating the mover Deployment", "deployment", key.Name)
		if err := r.Client.Create(ctx, want); err != nil {
			return State{}, fmt.Errorf("creating Deployment %s: %w", key.Name, err)
		}
		return State{Paused: s.Pod.Paused, RetryAfter: PodStuckAfter}, nil
	case err != nil:
		return State{}, fmt.Errorf("reading Deployment %s: %w", key.Name, err)
	}
	if !metav1.IsControlledBy(d, s.Pod.Owner) {
		return State{}, fmt.Errorf("%w: Deployment %s; rename or delete it so VolSync can create its own", ErrNotOwned, key.Name)
	}
	keepPlacement(want, d)
	if d.Annotations[SpecHashAnnotation] != want.Annotations[SpecHashAnnotation] ||
		ptr.Deref(d.Spec.Replicas, 1) != ptr.Deref(want.Spec.Replicas, 1) {
		orig := d.DeepCopy()
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		d.Annotations[SpecHashAnnotation] = want.Annotations[SpecHashAnnotation]
		d.Annotations[ChangedAnnotation] = r.Clock.Now().UTC().Format(time.RFC3339)
		d.Labels = want.Labels
		d.Spec.Replicas = want.Spec.Replicas
		d.Spec.Strategy = want.Spec.Strategy
		d.Spec.Template = want.Spec.Template
		log.FromContext(ctx).Info("Updating the mover Deployment", "deployment", key.Name, "replicas", *want.Spec.Replicas)
		if err := r.Client.Patch(ctx, d, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return State{}, fmt.Errorf("updating Deployment %s: %w", key.Name, err)
		}
		return State{Paused: s.Pod.Paused, RetryAfter: PodStuckAfter}, nil
	}
	return r.state(ctx, d, s.Pod.Paused)
}

// state reports a Deployment that is as desired.
func (r Runner) state(ctx context.Context, d *appsv1.Deployment, paused bool) (State, error) {
	if paused {
		return State{Paused: true}, nil
	}
	current := d.Status.ObservedGeneration >= d.Generation
	if current && d.Status.ReadyReplicas > 0 && d.Status.UpdatedReplicas == d.Status.Replicas {
		return State{Ready: true}, nil
	}
	age := r.Clock.Since(changed(d))
	if age < PodStuckAfter {
		return State{RetryAfter: PodStuckAfter - age}, nil
	}
	pods := &corev1.PodList{}
	if err := r.APIReader.List(ctx, pods, client.InNamespace(d.Namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
		return State{}, fmt.Errorf("listing pods of Deployment %s: %w", d.Name, err)
	}
	for i := range pods.Items {
		if why := failing(&pods.Items[i]); why != "" {
			return State{RetryAfter: jobs.PodStuckRecheck, Err: fmt.Errorf("mover pod %s cannot run: %s", pods.Items[i].Name, why)}, nil
		}
	}
	return State{RetryAfter: jobs.PodStuckRecheck}, nil
}

// failing says why a pod cannot start (jobs.CannotStart) or keeps exiting (a crash loop, with
// the mover's last message), "" when nothing says so.
func failing(pod *corev1.Pod) string {
	if why := jobs.CannotStart(pod); why != "" {
		return why
	}
	for _, cs := range pod.Status.ContainerStatuses {
		w := cs.State.Waiting
		if w == nil || w.Reason != crashLoop {
			continue
		}
		msg := fmt.Sprintf("container %s keeps exiting (%d restarts)", cs.Name, cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil {
			msg += fmt.Sprintf(", last exit code %d", t.ExitCode)
			if m := strings.TrimSpace(t.Message); m != "" {
				msg += ": " + lastLine(m)
			}
		}
		return msg
	}
	return ""
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func changed(d *appsv1.Deployment) time.Time {
	if t, err := time.Parse(time.RFC3339, d.Annotations[ChangedAnnotation]); err == nil {
		return t
	}
	return d.CreationTimestamp.Time
}

// keepPlacement: while nothing places the pod (no application pod runs on the volume), the
// Deployment keeps where its pod runs instead of being rewritten (and its pod restarted) each
// time the application stops.
func keepPlacement(want, have *appsv1.Deployment) {
	w, h := &want.Spec.Template.Spec, &have.Spec.Template.Spec
	if len(w.NodeSelector) > 0 || len(w.Tolerations) > 0 || (len(h.NodeSelector) == 0 && len(h.Tolerations) == 0) {
		return
	}
	w.NodeSelector, w.Tolerations = maps.Clone(h.NodeSelector), append([]corev1.Toleration(nil), h.Tolerations...)
	want.Annotations[SpecHashAnnotation] = jobs.Fingerprint(&want.Spec.Template)
}
