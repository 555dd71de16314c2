package cleanup

import (
	"context"
	"fmt"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Temporary deletes every object of the kinds of objs (empty lists, e.g.
// &corev1.PersistentVolumeClaimList{}) in the owner's namespace that carries the label
// volsync.backube/cleanup=<owner UID>. Jobs are deleted with foreground propagation: a Job
// stays (and done stays false) until its pods are gone, so the next synchronization never
// creates a Job of the same name while the Job controller is still tracking the old one's
// pods (kubernetes/kubernetes#142142: the new Job would then never get a pod). Other objects
// have no dependents and are deleted with background propagation.
//
// VolumeSnapshots are treated with care: one labelled volsync.backube/do-not-delete is kept and
// relinquished (Relinquish); one that has other owners (e.g. the PVC of a volume populator)
// only loses the owner's reference; the others are deleted with a resourceVersion
// precondition, so a snapshot that changed since it was read is looked at again.
//
// done is false while any of these objects still exists (also after deleting them: the next
// call confirms they are gone), so the caller does not start the next synchronization on top
// of the previous one's temporaries. Deletion events of owned objects wake the caller; objects
// with finalizers may take longer.
func Temporary(ctx context.Context, c client.Client, owner client.Object, objs ...client.ObjectList) (done bool, err error) {
	done = true
	uid := string(owner.GetUID())
	if uid == "" {
		return false, fmt.Errorf("owner %s has no UID", owner.GetName())
	}
	logger := log.FromContext(ctx)
	for _, list := range objs {
		if err := c.List(ctx, list, client.InNamespace(owner.GetNamespace()),
			client.MatchingLabels{v1alpha1.CleanupLabel: uid}); err != nil {
			return false, fmt.Errorf("listing temporary objects: %w", err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return false, fmt.Errorf("reading the list of temporary objects: %w", err)
		}
		for _, item := range items {
			obj, ok := item.(client.Object)
			if !ok {
				continue
			}
			if obj.GetDeletionTimestamp() != nil {
				done = false
				continue
			}
			del := client.Preconditions{UID: ptr(obj.GetUID())}
			if snap, ok := obj.(*snapv1.VolumeSnapshot); ok {
				if _, keep := snap.Labels[v1alpha1.DoNotDeleteLabel]; keep {
					retry, err := Relinquish(ctx, c, owner, snap)
					if err != nil {
						return false, err
					}
					done = done && !retry
					continue
				}
				if hasOtherOwners(snap, owner) {
					retry, err := dropOwnerRef(ctx, c, owner, snap)
					if err != nil {
						return false, err
					}
					done = done && !retry
					continue
				}
				del.ResourceVersion = ptr(snap.ResourceVersion)
			}
			logger.Info("Deleting temporary object", "kind", kindOf(c, obj), "name", obj.GetName())
			done = false
			if err := c.Delete(ctx, obj, client.PropagationPolicy(propagation(obj)), del); err != nil &&
				!apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return false, fmt.Errorf("deleting %s %s: %w", kindOf(c, obj), obj.GetName(), err)
			}
		}
	}
	return done, nil
}

// propagation is how obj's dependents are deleted: Jobs wait for their pods.
func propagation(obj client.Object) metav1.DeletionPropagation {
	if _, ok := obj.(*batchv1.Job); ok {
		return metav1.DeletePropagationForeground
	}
	return metav1.DeletePropagationBackground
}

// Relinquish hands obj over to the user: it drops owner's ownerReference and owner's cleanup
// label (created-by stays, it is still true). retry is true when obj changed under us and must
// be looked at again.
func Relinquish(ctx context.Context, c client.Client, owner, obj client.Object) (retry bool, err error) {
	return patch(ctx, c, obj, func(o client.Object) bool {
		changed := removeOwnerRef(o, owner)
		if labels := o.GetLabels(); labels[v1alpha1.CleanupLabel] == string(owner.GetUID()) {
			delete(labels, v1alpha1.CleanupLabel)
			o.SetLabels(labels)
			changed = true
		}
		if changed {
			log.FromContext(ctx).Info("Relinquishing object", "kind", kindOf(c, obj), "name", obj.GetName())
		}
		return changed
	})
}

// dropOwnerRef removes owner's ownerReference from obj.
func dropOwnerRef(ctx context.Context, c client.Client, owner, obj client.Object) (retry bool, err error) {
	return patch(ctx, c, obj, func(o client.Object) bool { return removeOwnerRef(o, owner) })
}

// patch applies mutate and sends the change, if any, as a merge patch guarded by the
// resourceVersion (ownerReferences is a list that a merge patch replaces as a whole).
func patch(ctx context.Context, c client.Client, obj client.Object, mutate func(client.Object) bool) (retry bool, err error) {
	base, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return false, fmt.Errorf("copying %s", obj.GetName())
	}
	if !mutate(obj) {
		return false, nil
	}
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("updating %s %s: %w", kindOf(c, obj), obj.GetName(), err)
	}
	return false, nil
}

// removeOwnerRef removes every ownerReference to owner from obj.
func removeOwnerRef(obj, owner client.Object) bool {
	refs := obj.GetOwnerReferences()
	kept := make([]metav1.OwnerReference, 0, len(refs))
	for _, r := range refs {
		if r.UID != owner.GetUID() {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(refs) {
		return false
	}
	obj.SetOwnerReferences(kept)
	return true
}

// hasOtherOwners reports whether obj has an ownerReference to something else than owner.
func hasOtherOwners(obj, owner client.Object) bool {
	for _, r := range obj.GetOwnerReferences() {
		if r.UID != owner.GetUID() {
			return true
		}
	}
	return false
}

// kindOf names obj's kind for logs and messages.
func kindOf(c client.Client, obj client.Object) string {
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return fmt.Sprintf("%T", obj)
	}
	return gvk.Kind
}

func ptr[T any](v T) *T { return &v }
