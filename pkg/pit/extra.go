package pit

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volsync-go/volsync/pkg/common/events"
)

// ExtraVolume is a PVC a mover needs besides its data volume, such as restic's cache
// (volsync-<src|dst>-<obj>-cache, cacheCapacity, cacheStorageClassName, cacheAccessModes,
// cleanupCachePVC).
type ExtraVolume struct {
	Name             string
	Capacity         resource.Quantity
	StorageClassName *string
	AccessModes      []corev1.PersistentVolumeAccessMode
	// Cleanup deletes the volume after each synchronization (it is made again for the next).
	Cleanup bool
}

// Extra returns the extra volume v, created (owned by Owner, labelled as VolSync's) when it
// does not exist, and labelled for cleanup as v.Cleanup says. It does not wait for the volume
// to bind: with a WaitForFirstConsumer class it binds on the node where the mover pod, placed
// with the data volume, is scheduled. A nil PVC comes with a Wait (a deletion to finish, a
// conflict).
func (h Handler) Extra(ctx context.Context, v ExtraVolume) (*corev1.PersistentVolumeClaim, *Wait, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	found, err := h.getOwned(ctx, kindPVC, v.Name, pvc)
	if err != nil {
		return nil, nil, err
	}
	if found {
		if pvc.DeletionTimestamp != nil {
			return nil, deletingWait(kindPVC, v.Name), nil
		}
		if w, err := h.followCleanup(ctx, pvc, v.Cleanup); err != nil || w != nil {
			return nil, w, err
		}
		return pvc, nil, nil
	}
	if v.Capacity.IsZero() || len(v.AccessModes) == 0 {
		return nil, nil, fmt.Errorf("%s: a capacity and access modes are required", events.KindName(kindPVC, v.Name))
	}
	if err := h.checkClasses(ctx, v.StorageClassName, nil); err != nil {
		return nil, nil, err
	}
	pvc = &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes:      append([]corev1.PersistentVolumeAccessMode(nil), v.AccessModes...),
		Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: v.Capacity.DeepCopy()}},
		StorageClassName: v.StorageClassName,
	}}
	if err := h.newMeta(pvc, v.Name, v.Cleanup); err != nil {
		return nil, nil, err
	}
	if w, err := h.create(ctx, kindPVC, pvc); err != nil || w != nil {
		return nil, w, err
	}
	return pvc, nil, nil
}
