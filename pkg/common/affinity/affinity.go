package affinity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// HostnameLabel is the well-known Node label a mover pod is pinned with.
const HostnameLabel = corev1.LabelHostname

var (
	// ErrVolumeInUse is returned for a ReadWriteOncePod volume that an application pod
	// uses: no other pod can mount it, so a Direct copy cannot run.
	ErrVolumeInUse = errors.New("ReadWriteOncePod volume is in use by another pod")
	// ErrNodeUnlabelled is returned when the node running the application pod has no
	// kubernetes.io/hostname label, so the mover cannot be pinned to it with a nodeSelector.
	ErrNodeUnlabelled = errors.New("node has no " + HostnameLabel + " label")
)

// Placement is where the mover pod must run.
type Placement struct {
	// NodeSelector pins the pod to the application's node.
	NodeSelector map[string]string
	// Tolerations are the application pod's, so taints that admit it admit the mover too.
	Tolerations []corev1.Toleration
	// NodeName is the node chosen (informational: Apply does not set spec.nodeName, so the
	// scheduler still checks resources and taints).
	NodeName string
	// Pod is the name of the application pod the placement was taken from (informational).
	Pod string
}

// Apply writes the placement into a pod spec, replacing its nodeSelector and tolerations.
// A nil placement leaves the spec as it is.
func (p *Placement) Apply(spec *corev1.PodSpec) {
	if p == nil {
		return
	}
	spec.NodeSelector = maps.Clone(p.NodeSelector)
	spec.Tolerations = slices.Clone(p.Tolerations)
}

// ForVolume returns the placement that lets a mover pod mount pvc together with the pods
// already using it, or nil when the mover may run anywhere: the volume can be mounted on
// several nodes (ReadWriteMany or ReadOnlyMany), or no pod other than VolSync's uses it.
//
// Pods come from r's cache of stripped pods (see StripPod), selected with the ClaimIndex
// field index, so placing a mover costs no API request whatever the number of pods; r must
// be a client whose Pod reads are served by a cache with that index (clients.Split). The Node
// is read through r too. Candidates are pods not created by VolSync whose volumes reference
// the claim and that have not terminated. A Running pod is preferred; otherwise a pod already
// bound to a node (spec.nodeName set). Pods not yet scheduled give no node and are skipped
// (the reference implementation tried to read Node "" and failed).
//
// For a ReadWriteOncePod volume any such pod is an error wrapping ErrVolumeInUse, since no
// second pod can mount it.
func ForVolume(ctx context.Context, r client.Reader, pvc *corev1.PersistentVolumeClaim) (*Placement, error) {
	modes := pvc.Status.AccessModes
	if len(modes) == 0 {
		modes = pvc.Spec.AccessModes
	}
	if slices.Contains(modes, corev1.ReadWriteMany) || slices.Contains(modes, corev1.ReadOnlyMany) {
		return nil, nil
	}

	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(pvc.Namespace), client.MatchingFields{ClaimIndex: pvc.Name}); err != nil {
		return nil, fmt.Errorf("listing Pods that use PersistentVolumeClaim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	users := Users(pods.Items, pvc.Name)

	if slices.Contains(modes, corev1.ReadWriteOncePod) && len(users) > 0 {
		return nil, fmt.Errorf("%w: PersistentVolumeClaim %s/%s is mounted by Pod %s; stop the application or use a Snapshot or Clone copy method",
			ErrVolumeInUse, pvc.Namespace, pvc.Name, users[0].Name)
	}
	pod := Choose(users)
	if pod == nil {
		return nil, nil
	}

	node := &corev1.Node{}
	if err := r.Get(ctx, client.ObjectKey{Name: pod.Spec.NodeName}, node); err != nil {
		return nil, fmt.Errorf("reading Node %s of Pod %s/%s: %w", pod.Spec.NodeName, pod.Namespace, pod.Name, err)
	}
	host, ok := node.Labels[HostnameLabel]
	if !ok {
		return nil, fmt.Errorf("%w: Node %s runs Pod %s/%s that uses PersistentVolumeClaim %s; label the node or use a Snapshot or Clone copy method",
			ErrNodeUnlabelled, node.Name, pod.Namespace, pod.Name, pvc.Name)
	}
	log.FromContext(ctx).V(1).Info("Placing mover with application pod", "pod", pod.Name, "node", node.Name)
	return &Placement{
		NodeSelector: map[string]string{HostnameLabel: host},
		Tolerations:  slices.Clone(pod.Spec.Tolerations),
		NodeName:     node.Name,
		Pod:          pod.Name,
	}, nil
}

// Users returns the pods that hold claim: not created by VolSync, not terminated, with a
// volume referencing the claim. The result is sorted by name.
func Users(pods []corev1.Pod, claim string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.Labels[v1alpha1.CreatedByLabel] == v1alpha1.CreatedByValue {
			continue
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool {
			return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim
		}) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Choose picks the pod whose node the mover must share: the first Running pod on a node,
// else the first other pod bound to a node; nil when no pod is on a node yet.
func Choose(users []corev1.Pod) *corev1.Pod {
	var bound *corev1.Pod
	for i := range users {
		p := &users[i]
		if p.Spec.NodeName == "" {
			continue
		}
		if p.Status.Phase == corev1.PodRunning {
			return p
		}
		if bound == nil {
			bound = p
		}
	}
	return bound
}
