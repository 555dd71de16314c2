package pit

import (
	"context"
	"fmt"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/common/ownership"
)

// DestinationVolume returns the PVC incoming data is written to: opts.DestinationPVC, which must
// exist and is never labelled, owned or deleted by VolSync; or a PVC named provisionedName
// made from capacity, accessModes, storageClassName and volumeMode (default Filesystem),
// controller-owned by Owner, and temporary only with opts.CleanupTempPVC. A larger capacity is
// applied to the provisioned PVC once it is bound (expansion); a smaller one is ignored.
//
// A non-nil PVC may come with a Wait that is only a hint of when to look again (see Wait).
// A copyMethod that cannot make the image (see DestinationImage) is an error here, before any
// data moves.
func (h Handler) DestinationVolume(ctx context.Context, opts v1alpha1.ReplicationDestinationVolumeOptions,
	volumeMode *corev1.PersistentVolumeMode, provisionedName string) (*corev1.PersistentVolumeClaim, *Wait, error) {
	if err := checkDestinationCopyMethod(opts.CopyMethod); err != nil {
		return nil, nil, err
	}
	pvc := &corev1.PersistentVolumeClaim{}
	if opts.DestinationPVC != nil && *opts.DestinationPVC != "" {
		name := *opts.DestinationPVC
		if err := h.users().Get(ctx, client.ObjectKey{Namespace: h.namespace(), Name: name}, pvc); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil, fmt.Errorf("%s: %w; check destinationPVC", events.KindName(kindPVC, name), ErrDestinationPVCNotFound)
			}
			return nil, nil, fmt.Errorf("reading %s: %w", events.KindName(kindPVC, name), err)
		}
		if pvc.DeletionTimestamp != nil {
			return nil, nil, fmt.Errorf("%s is being deleted: %w", events.KindName(kindPVC, name), ErrDestinationPVCNotFound)
		}
		return pvc, nil, nil
	}

	if opts.Capacity == nil || opts.Capacity.IsZero() {
		return nil, nil, fmt.Errorf("%w: set capacity (or destinationPVC)", ErrMissingCapacity)
	}
	if len(opts.AccessModes) == 0 {
		return nil, nil, fmt.Errorf("%w: set accessModes (or destinationPVC)", ErrMissingAccessModes)
	}
	found, err := h.getOwned(ctx, kindPVC, provisionedName, pvc)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		if err := h.checkClasses(ctx, opts.StorageClassName, nil); err != nil {
			return nil, nil, err
		}
		pvc = &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: append([]corev1.PersistentVolumeAccessMode(nil), opts.AccessModes...),
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: opts.Capacity.DeepCopy()},
			},
			StorageClassName: copyStorageClass(opts.StorageClassName, &corev1.PersistentVolumeClaim{}),
			VolumeMode:       volumeModeOr(volumeMode),
		}}
		if err := h.newMeta(pvc, provisionedName, opts.CleanupTempPVC); err != nil {
			return nil, nil, err
		}
		if w, err := h.create(ctx, kindPVC, pvc); err != nil || w != nil {
			return nil, w, err
		}
		h.Events.Normal(pvc, events.ReasonPVCCreated, events.ActionCreatePVC, "created %s to receive incoming data",
			events.KindName(kindPVC, provisionedName))
		w, err := h.pvcWait(ctx, pvc, newPVCHint)
		return pvc, w, err
	}
	if pvc.DeletionTimestamp != nil {
		return nil, deletingWait(kindPVC, provisionedName), nil
	}

	// Follow cleanupTempPVC both ways.
	if w, err := h.followCleanup(ctx, pvc, opts.CleanupTempPVC); err != nil || w != nil {
		return nil, w, err
	}

	if w, err := h.expand(ctx, pvc, opts); err != nil || w != nil {
		return nil, w, err
	}
	w, err := h.pvcWait(ctx, pvc, newPVCHint)
	return pvc, w, err
}

// followCleanup labels obj as a temporary of Owner (deleted after each synchronization) or
// not, as the user's cleanup field now says.
func (h Handler) followCleanup(ctx context.Context, obj client.Object, cleanup bool) (*Wait, error) {
	uid := h.ownerUID()
	conflict, err := h.patchObj(ctx, obj, false, func(o client.Object) bool {
		labels := o.GetLabels()
		if cleanup == (labels[v1alpha1.CleanupLabel] == uid) {
			return false
		}
		if cleanup {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[v1alpha1.CleanupLabel] = uid
		} else {
			delete(labels, v1alpha1.CleanupLabel)
		}
		o.SetLabels(labels)
		return true
	})
	if err != nil {
		return nil, err
	}
	if conflict {
		return conflictWait(events.KindName(kindPVC, obj.GetName())), nil
	}
	return nil, nil
}

// checkDestinationCopyMethod says why a destination cannot make its image with m. The CRD
// defaults an empty copyMethod to Direct and rejects Clone, so this fires only with older CRDs.
func checkDestinationCopyMethod(m v1alpha1.CopyMethodType) error {
	switch m {
	case v1alpha1.CopyMethodDirect, v1alpha1.CopyMethodNone, v1alpha1.CopyMethodSnapshot:
		return nil
	case "":
		return fmt.Errorf("%w: copyMethod is empty on a ReplicationDestination: set Direct or Snapshot "+
			"(current CRDs default it to Direct: apply them)", ErrUnsupportedCopyMethod)
	default:
		return fmt.Errorf("%w %q on a ReplicationDestination: must be Direct, None or Snapshot",
			ErrUnsupportedCopyMethod, m)
	}
}

// expand raises the storage request of a bound provisioned PVC to opts.Capacity. An unbound
// PVC cannot be resized: its binding wakes the caller, and the PVC is expanded then.
func (h Handler) expand(ctx context.Context, pvc *corev1.PersistentVolumeClaim, opts v1alpha1.ReplicationDestinationVolumeOptions) (*Wait, error) {
	cur := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if opts.Capacity.Cmp(cur) <= 0 {
		return nil, nil
	}
	if !pvcBound(pvc) {
		log.FromContext(ctx).V(1).Info("PersistentVolumeClaim will be expanded once bound", "persistentVolumeClaim", pvc.Name)
		return nil, nil
	}
	log.FromContext(ctx).Info("Expanding PersistentVolumeClaim", "persistentVolumeClaim", pvc.Name,
		"from", cur.String(), "to", opts.Capacity.String())
	conflict, err := h.patchObj(ctx, pvc, false, func(o client.Object) bool {
		p := o.(*corev1.PersistentVolumeClaim)
		if p.Spec.Resources.Requests == nil {
			p.Spec.Resources.Requests = corev1.ResourceList{}
		}
		p.Spec.Resources.Requests[corev1.ResourceStorage] = opts.Capacity.DeepCopy()
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("expanding %s to %s (the StorageClass must allow volume expansion): %w",
			events.KindName(kindPVC, pvc.Name), opts.Capacity.String(), err)
	}
	if conflict {
		return conflictWait(events.KindName(kindPVC, pvc.Name)), nil
	}
	return nil, nil
}

// DestinationImage returns the image of the destination PVC after a successful transfer. Direct
// (and None): the PVC itself. Snapshot: a VolumeSnapshot <pvc>-<YYYYMMDDHHMMSS> (UTC, name kept
// in the PVC's volsync.backube/snapname annotation so a retry reuses it), controller-owned by
// Owner unless it is labelled do-not-delete, not temporary, returned once bound and ready.
func (h Handler) DestinationImage(ctx context.Context, opts v1alpha1.ReplicationDestinationVolumeOptions, pvc *corev1.PersistentVolumeClaim) (*corev1.TypedLocalObjectReference, *Wait, error) {
	if err := checkDestinationCopyMethod(opts.CopyMethod); err != nil {
		return nil, nil, err
	}
	if opts.CopyMethod != v1alpha1.CopyMethodSnapshot {
		core := ""
		return &corev1.TypedLocalObjectReference{APIGroup: &core, Kind: kindPVC, Name: pvc.Name}, nil, nil
	}

	pvcName := events.KindName(kindPVC, pvc.Name)
	name := pvc.GetAnnotations()[v1alpha1.SnapshotNameAnnotation]
	if name == "" {
		// Guarded by the resourceVersion: a stale cache must not pick a second name.
		name = ImageName(pvc.Name, h.clock().Now())
		conflict, err := h.patchObj(ctx, pvc, true, func(o client.Object) bool {
			return setAnnotations(o, map[string]*string{v1alpha1.SnapshotNameAnnotation: &name})
		})
		if err != nil {
			return nil, nil, err
		}
		if conflict {
			return nil, conflictWait(pvcName), nil
		}
	}

	snap := &snapv1.VolumeSnapshot{}
	snapName := events.KindName(kindSnapshot, name)
	err := h.Client.Get(ctx, client.ObjectKey{Namespace: h.namespace(), Name: name}, snap)
	switch {
	case apierrors.IsNotFound(err):
		if err := h.checkClasses(ctx, nil, opts.VolumeSnapshotClassName); err != nil {
			return nil, nil, err
		}
		snap = &snapv1.VolumeSnapshot{Spec: snapv1.VolumeSnapshotSpec{
			Source:                  snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: &pvc.Name},
			VolumeSnapshotClassName: opts.VolumeSnapshotClassName,
		}}
		if err := h.newMeta(snap, name, false); err != nil {
			return nil, nil, err
		}
		if w, err := h.create(ctx, kindSnapshot, snap); err != nil || w != nil {
			return nil, w, err
		}
		h.Events.Normal(snap, events.ReasonVolumeSnapshotCreated, events.ActionCreateSnapshot, "created %s from %s",
			snapName, pvcName)
		w, err := h.snapshotWait(ctx, snap)
		return nil, w, err
	case err != nil:
		return nil, nil, fmt.Errorf("reading %s: %w", snapName, err)
	}

	if _, keep := snap.Labels[v1alpha1.DoNotDeleteLabel]; keep {
		// The user keeps this one: use it, but do not own it.
		src := snap.Spec.Source.PersistentVolumeClaimName
		if !h.ours(snap) && (snap.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue || src == nil || *src != pvc.Name) {
			return nil, nil, fmt.Errorf("%s: %w (%s); rename or delete it", snapName, ErrNotOwned, h.ownerKindName())
		}
		retry, err := ownership.Relinquish(ctx, h.Client, h.Owner, snap)
		if err != nil {
			return nil, nil, err
		}
		if retry {
			return nil, conflictWait(snapName), nil
		}
	} else if !metav1.IsControlledBy(snap, h.Owner) {
		return nil, nil, fmt.Errorf("%s: %w (%s); rename or delete it", snapName, ErrNotOwned, h.ownerKindName())
	}
	if snap.DeletionTimestamp != nil {
		return nil, deletingWait(kindSnapshot, name), nil
	}
	if !snapshotReady(snap) {
		w, err := h.snapshotWait(ctx, snap)
		return nil, w, err
	}
	return &corev1.TypedLocalObjectReference{APIGroup: &snapshotGroup, Kind: kindSnapshot, Name: name}, nil, nil
}

// ours reports whether obj is controlled by Owner or labelled as Owner's temporary object.
func (h Handler) ours(obj client.Object) bool {
	return metav1.IsControlledBy(obj, h.Owner) || obj.GetLabels()[v1alpha1.CleanupLabel] == h.ownerUID()
}

// isSnapshotRef reports whether ref names a VolumeSnapshot of snapshot.storage.k8s.io.
func isSnapshotRef(ref *corev1.TypedLocalObjectReference) bool {
	return ref != nil && ref.Kind == kindSnapshot && ref.APIGroup != nil && *ref.APIGroup == snapshotGroup
}

// RotateImage marks the previous image for deletion at cleanup when current replaces it. Only
// a VolumeSnapshot that exists, differs from current, is controlled by Owner and is not
// labelled do-not-delete is marked.
func (h Handler) RotateImage(ctx context.Context, previous, current *corev1.TypedLocalObjectReference) error {
	if !isSnapshotRef(previous) {
		return nil
	}
	if isSnapshotRef(current) && current.Name == previous.Name {
		return nil
	}
	snap := &snapv1.VolumeSnapshot{}
	if err := h.Client.Get(ctx, client.ObjectKey{Namespace: h.namespace(), Name: previous.Name}, snap); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading %s: %w", events.KindName(kindSnapshot, previous.Name), err)
	}
	if _, keep := snap.Labels[v1alpha1.DoNotDeleteLabel]; keep || !metav1.IsControlledBy(snap, h.Owner) {
		return nil
	}
	uid := h.ownerUID()
	_, err := h.patchObj(ctx, snap, false, func(o client.Object) bool {
		labels := o.GetLabels()
		if labels[v1alpha1.CleanupLabel] == uid {
			return false
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[v1alpha1.CleanupLabel] = uid
		o.SetLabels(labels)
		log.FromContext(ctx).Info("Marking previous image for deletion", "volumeSnapshot", previous.Name)
		return true
	})
	return err
}

// ReleaseDestination removes the snapshot name annotation from the destination PVC at the end
// of a synchronization, so the next one takes a new snapshot. A missing PVC is fine. user
// says the PVC is the user's (destinationPVC), read live, rather than one VolSync provisioned.
func (h Handler) ReleaseDestination(ctx context.Context, pvcName string, user bool) error {
	pvc := &corev1.PersistentVolumeClaim{}
	var r client.Reader = h.Client
	if user {
		r = h.users()
	}
	if err := r.Get(ctx, client.ObjectKey{Namespace: h.namespace(), Name: pvcName}, pvc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading %s: %w", events.KindName(kindPVC, pvcName), err)
	}
	_, err := h.patchObj(ctx, pvc, false, func(o client.Object) bool {
		return setAnnotations(o, map[string]*string{v1alpha1.SnapshotNameAnnotation: nil})
	})
	return err
}

// RelinquishDoNotDelete hands the snapshots labelled do-not-delete that belong to Owner (owned
// by it or labelled as its temporary objects) over to the user: Owner's ownerReference and
// cleanup label are removed. Other owners' snapshots are not touched.
func (h Handler) RelinquishDoNotDelete(ctx context.Context) error {
	list := &snapv1.VolumeSnapshotList{}
	if err := h.Client.List(ctx, list, client.InNamespace(h.namespace()), client.HasLabels{v1alpha1.DoNotDeleteLabel}); err != nil {
		return fmt.Errorf("listing VolumeSnapshots labelled %s: %w", v1alpha1.DoNotDeleteLabel, err)
	}
	for i := range list.Items {
		snap := &list.Items[i]
		if !h.ownsRef(snap) && snap.Labels[v1alpha1.CleanupLabel] != h.ownerUID() {
			continue
		}
		// A conflict is left to the next reconcile: the change that caused it wakes us.
		if _, err := ownership.Relinquish(ctx, h.Client, h.Owner, snap); err != nil {
			return err
		}
	}
	return nil
}

// ownsRef reports whether obj has any ownerReference to Owner.
func (h Handler) ownsRef(obj client.Object) bool {
	for _, r := range obj.GetOwnerReferences() {
		if r.UID == h.Owner.GetUID() {
			return true
		}
	}
	return false
}
