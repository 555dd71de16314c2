package cleanup

import (
	"context"
	"fmt"
	"strings"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/ownership"
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
// relinquished (ownership.Relinquish); one that has other owners (e.g. the PVC of a volume populator)
// or that a volume populator is restoring from (InUseByPopulator) only loses the owner's
// reference, so the populator's PVC, once it owns the snapshot, takes it away with it; the others are deleted with a resourceVersion
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
					retry, err := ownership.Relinquish(ctx, c, owner, snap)
					if err != nil {
						return false, err
					}
					done = done && !retry
					continue
				}
				inUse, err := InUseByPopulator(ctx, live(c), snap)
				if err != nil {
					return false, err
				}
				if ownership.HasOtherOwners(snap, owner) || inUse {
					retry, err := ownership.DropOwnerRef(ctx, c, owner, snap)
					if err != nil {
						return false, err
					}
					done = done && !retry
					continue
				}
				del.ResourceVersion = ptr(snap.ResourceVersion)
			}
			logger.Info("Deleting temporary object", "kind", ownership.KindOf(c, obj), "name", obj.GetName())
			done = false
			if err := c.Delete(ctx, obj, client.PropagationPolicy(propagation(obj)), del); err != nil &&
				!apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return false, fmt.Errorf("deleting %s %s: %w", ownership.KindOf(c, obj), obj.GetName(), err)
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

func ptr[T any](v T) *T { return &v }

// InUseByPopulator reports whether a volume populator marked obj as the source of a PVC it is
// populating: a label key v1alpha1.PopulatorSnapshotLabelPrefix + <PVC UID> whose value names
// a PVC of that UID that still exists (read through r, live: users' PVCs are not cached). A
// mark whose PVC is gone, or was replaced, is stale. (The reference implementation looked at the
// label values and never matched.)
func InUseByPopulator(ctx context.Context, r client.Reader, obj client.Object) (bool, error) {
	for k, name := range obj.GetLabels() {
		uid, ok := strings.CutPrefix(k, v1alpha1.PopulatorSnapshotLabelPrefix)
		if !ok {
			continue
		}
		if name == "" {
			return true, nil // a name too long for a label value: cannot tell, keep it
		}
		pvc := &corev1.PersistentVolumeClaim{}
		err := r.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}, pvc)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return false, fmt.Errorf("reading PVC %s, marked as being populated from VolumeSnapshot %s: %w", name, obj.GetName(), err)
		case string(pvc.UID) == uid:
			return true, nil
		}
	}
	return false, nil
}

// live returns the reader of c that reads from the API server (clients.Split's API), or c.
func live(c client.Client) client.Reader {
	if s, ok := c.(interface{ LiveReader() client.Reader }); ok {
		return s.LiveReader()
	}
	return c
}
