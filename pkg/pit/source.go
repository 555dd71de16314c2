package pit

import (
	"context"
	"fmt"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

// Hints appended to not-bound warnings.
const (
	cloneHint   = "check StorageClass name and ensure CSI driver supports volume cloning"
	restoreHint = "check StorageClass name and ensure CSI driver supports restoring volume snapshots"
	newPVCHint  = "check StorageClass name and CSI driver capabilities"
)

// SourceCopy returns the PVC the source mover must read: the source PVC itself for Direct (and
// None); a clone volsync-<owner>-src for Clone; for Snapshot a VolumeSnapshot
// volsync-<owner>-src and then a PVC of the same name restored from it. The copies are
// temporary (cleanup label) and controller-owned by Owner.
//
// A nil PVC comes with a Wait. A non-nil PVC is ready to be mounted, possibly with a Wait that
// is only a hint of when to look again (see Wait).
func (h Handler) SourceCopy(ctx context.Context, opts v1alpha1.ReplicationSourceVolumeOptions, sourcePVC string) (*corev1.PersistentVolumeClaim, *Wait, error) {
	switch opts.CopyMethod {
	case v1alpha1.CopyMethodDirect, v1alpha1.CopyMethodNone, v1alpha1.CopyMethodClone, v1alpha1.CopyMethodSnapshot:
	default:
		return nil, nil, fmt.Errorf("%w %q: must be Direct, None, Clone or Snapshot", ErrUnsupportedCopyMethod, opts.CopyMethod)
	}
	src := &corev1.PersistentVolumeClaim{}
	if err := h.users().Get(ctx, client.ObjectKey{Namespace: h.namespace(), Name: sourcePVC}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, fmt.Errorf("%s: %w; check spec.sourcePVC", events.KindName(kindPVC, sourcePVC), ErrSourcePVCNotFound)
		}
		return nil, nil, fmt.Errorf("reading %s: %w", events.KindName(kindPVC, sourcePVC), err)
	}
	if src.DeletionTimestamp != nil {
		return nil, nil, fmt.Errorf("%s is being deleted: %w", events.KindName(kindPVC, sourcePVC), ErrSourcePVCNotFound)
	}
	switch opts.CopyMethod {
	case v1alpha1.CopyMethodClone:
		return h.sourceClone(ctx, opts, src)
	case v1alpha1.CopyMethodSnapshot:
		return h.sourceSnapshot(ctx, opts, src)
	default:
		return src, nil, nil
	}
}

// sourceClone makes (or finds) the clone of src.
func (h Handler) sourceClone(ctx context.Context, opts v1alpha1.ReplicationSourceVolumeOptions, src *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, *Wait, error) {
	name := naming.SourcePiT(h.Owner.GetName())
	pvc := &corev1.PersistentVolumeClaim{}
	found, err := h.getOwned(ctx, kindPVC, name, pvc)
	if err != nil {
		return nil, nil, err
	}
	if found {
		// A clone holds the data once it is bound.
		return h.existingCopy(ctx, src, pvc, pvcBound(pvc), cloneHint)
	}

	if err := h.checkClasses(ctx, opts.StorageClassName, nil); err != nil {
		return nil, nil, err
	}
	capacity, ok := copyCapacity(opts.Capacity, nil, src)
	if !ok {
		return nil, nil, fmt.Errorf("%s has no size: %w; set capacity", events.KindName(kindPVC, src.Name), ErrMissingCapacity)
	}
	if w, err := h.copyTriggerWait(ctx, src); err != nil || w != nil {
		return nil, w, err
	}
	pvc, err = h.copyPVC(opts, src, name, capacity, &corev1.TypedLocalObjectReference{Kind: kindPVC, Name: src.Name})
	if err != nil {
		return nil, nil, err
	}
	if w, err := h.create(ctx, kindPVC, pvc); err != nil || w != nil {
		return nil, w, err
	}
	h.Events.Normal(pvc, events.ReasonPVCCreated, events.ActionCreatePVC, "created %s as a clone of %s",
		events.KindName(kindPVC, name), events.KindName(kindPVC, src.Name))
	w, err := h.pvcWait(ctx, pvc, cloneHint)
	return pvc, w, err
}

// existingCopy reports on the point-in-time PVC of src that already exists. complete says
// whether the copy of src's data is finished (the copy-trigger completion is signalled then).
func (h Handler) existingCopy(ctx context.Context, src, pvc *corev1.PersistentVolumeClaim, complete bool, hint string) (*corev1.PersistentVolumeClaim, *Wait, error) {
	if pvc.DeletionTimestamp != nil {
		return nil, deletingWait(kindPVC, pvc.Name), nil
	}
	if complete {
		if w, err := h.copyTriggerCompleted(ctx, src); err != nil || w != nil {
			return nil, w, err
		}
	}
	w, err := h.pvcWait(ctx, pvc, hint)
	return pvc, w, err
}

// sourceSnapshot makes (or finds) the snapshot of src and the PVC restored from it.
func (h Handler) sourceSnapshot(ctx context.Context, opts v1alpha1.ReplicationSourceVolumeOptions, src *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, *Wait, error) {
	name := naming.SourcePiT(h.Owner.GetName())
	pvc := &corev1.PersistentVolumeClaim{}
	found, err := h.getOwned(ctx, kindPVC, name, pvc)
	if err != nil {
		return nil, nil, err
	}
	if found {
		// The restore exists only once the snapshot was ready: the copy is complete.
		return h.existingCopy(ctx, src, pvc, true, restoreHint)
	}

	snap := &snapv1.VolumeSnapshot{}
	snapFound, err := h.getOwned(ctx, kindSnapshot, name, snap)
	if err != nil {
		return nil, nil, err
	}
	vsc := opts.VolumeSnapshotClassName
	if snapFound {
		vsc = nil // already made with its class
	}
	if err := h.checkClasses(ctx, opts.StorageClassName, vsc); err != nil {
		return nil, nil, err
	}
	if !snapFound {
		if _, ok := copyCapacity(opts.Capacity, nil, src); !ok {
			return nil, nil, fmt.Errorf("%s has no size: %w; set capacity", events.KindName(kindPVC, src.Name), ErrMissingCapacity)
		}
		if w, err := h.copyTriggerWait(ctx, src); err != nil || w != nil {
			return nil, w, err
		}
		snap = &snapv1.VolumeSnapshot{Spec: snapv1.VolumeSnapshotSpec{
			Source:                  snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: &src.Name},
			VolumeSnapshotClassName: opts.VolumeSnapshotClassName,
		}}
		if err := h.newMeta(snap, name, true); err != nil {
			return nil, nil, err
		}
		if w, err := h.create(ctx, kindSnapshot, snap); err != nil || w != nil {
			return nil, w, err
		}
		h.Events.Normal(snap, events.ReasonVolumeSnapshotCreated, events.ActionCreateSnapshot, "created %s from %s",
			events.KindName(kindSnapshot, name), events.KindName(kindPVC, src.Name))
		w, err := h.snapshotWait(ctx, snap)
		return nil, w, err
	}
	if snap.DeletionTimestamp != nil {
		return nil, deletingWait(kindSnapshot, name), nil
	}
	if !snapshotReady(snap) {
		w, err := h.snapshotWait(ctx, snap)
		return nil, w, err
	}
	if w, err := h.copyTriggerCompleted(ctx, src); err != nil || w != nil {
		return nil, w, err
	}

	capacity, ok := copyCapacity(opts.Capacity, snap.Status.RestoreSize, src)
	if !ok {
		return nil, nil, fmt.Errorf("%s has no size: %w; set capacity", events.KindName(kindSnapshot, name), ErrMissingCapacity)
	}
	pvc, err = h.copyPVC(opts, src, name, capacity, &corev1.TypedLocalObjectReference{
		APIGroup: &snapshotGroup, Kind: kindSnapshot, Name: name,
	})
	if err != nil {
		return nil, nil, err
	}
	if w, err := h.create(ctx, kindPVC, pvc); err != nil || w != nil {
		return nil, w, err
	}
	h.Events.Normal(pvc, events.ReasonPVCCreated, events.ActionCreatePVC, "created %s from %s",
		events.KindName(kindPVC, name), events.KindName(kindSnapshot, name))
	w, err := h.pvcWait(ctx, pvc, restoreHint)
	return pvc, w, err
}

// copyPVC builds a temporary point-in-time PVC of src with the given data source.
func (h Handler) copyPVC(opts v1alpha1.ReplicationSourceVolumeOptions, src *corev1.PersistentVolumeClaim, name string,
	capacity resource.Quantity, dataSource *corev1.TypedLocalObjectReference) (*corev1.PersistentVolumeClaim, error) {
	modes := copyAccessModes(opts.AccessModes, src)
	if len(modes) == 0 {
		return nil, fmt.Errorf("%s: %w; set accessModes", events.KindName(kindPVC, src.Name), ErrMissingAccessModes)
	}
	pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: modes,
		Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: capacity},
		},
		StorageClassName: copyStorageClass(opts.StorageClassName, src),
		VolumeMode:       volumeModeOr(src.Spec.VolumeMode),
		DataSource:       dataSource,
	}}
	if err := h.newMeta(pvc, name, true); err != nil {
		return nil, err
	}
	return pvc, nil
}

// checkClasses fails when a named StorageClass or VolumeSnapshotClass does not exist. An
// empty storageClassName (no class, static binding) is not checked.
func (h Handler) checkClasses(ctx context.Context, storageClass, snapshotClass *string) error {
	if storageClass != nil && *storageClass != "" {
		if err := h.Client.Get(ctx, client.ObjectKey{Name: *storageClass}, &storagev1.StorageClass{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("%w: %q; check storageClassName", ErrStorageClassNotFound, *storageClass)
			}
			return fmt.Errorf("reading StorageClass %s: %w", *storageClass, err)
		}
	}
	if snapshotClass != nil && *snapshotClass != "" {
		if err := h.Client.Get(ctx, client.ObjectKey{Name: *snapshotClass}, &snapv1.VolumeSnapshotClass{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("%w: %q; check volumeSnapshotClassName", ErrVolumeSnapshotClassNotFound, *snapshotClass)
			}
			return fmt.Errorf("reading VolumeSnapshotClass %s: %w", *snapshotClass, err)
		}
	}
	return nil
}
