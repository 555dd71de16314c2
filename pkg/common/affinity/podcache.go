package affinity

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// ClaimIndex is the field index of the pod cache: a pod is listed under the name of every
// PersistentVolumeClaim its volumes reference (namespaced by the cache), so the users of one
// claim are found without scanning the namespace.
const ClaimIndex = "volsync.backube/claim"

// IndexClaims is the index function of ClaimIndex.
func IndexClaims(obj client.Object) []string {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	var claims []string
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claims = append(claims, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return claims
}

// StripPod is the transform of the controller's pod cache. The controller watches every pod
// of the cluster only to place Direct movers next to the pods that use their volume, so it
// keeps just what that needs: name, namespace, UID, resourceVersion, deletion time, VolSync's
// created-by label, the node, the tolerations, the claims among the volumes and the phase.
// A stripped pod takes a few hundred bytes instead of several kilobytes (docs/control-plane.md
// has the numbers). Anything that is not a Pod (a deletion tombstone) passes unchanged.
func StripPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			DeletionTimestamp: p.DeletionTimestamp,
		},
		Spec:   corev1.PodSpec{NodeName: p.Spec.NodeName, Tolerations: p.Spec.Tolerations},
		Status: corev1.PodStatus{Phase: p.Status.Phase},
	}
	if v, ok := p.Labels[v1alpha1.CreatedByLabel]; ok {
		out.Labels = map[string]string{v1alpha1.CreatedByLabel: v}
	}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			out.Spec.Volumes = append(out.Spec.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.PersistentVolumeClaim.ClaimName},
			}})
		}
	}
	return out, nil
}
