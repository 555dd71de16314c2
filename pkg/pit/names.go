package pit

import (
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// imageTimeFormat is the timestamp suffix of destination snapshot names (the reference's).
const imageTimeFormat = "20060102150405"

// maxObjectName is the longest name of a PVC or VolumeSnapshot (a DNS subdomain).
const maxObjectName = 253

// ImageName names the destination snapshot of pvc taken at t: <pvc>-<YYYYMMDDHHMMSS> in UTC.
// When that is longer than a name may be, the PVC name is cut and followed by the CRC-32 of
// the whole name, so different PVCs still get different names.
func ImageName(pvc string, t time.Time) string {
	suffix := "-" + t.UTC().Format(imageTimeFormat)
	if len(pvc)+len(suffix) <= maxObjectName {
		return pvc + suffix
	}
	hash := fmt.Sprintf("-%08x", crc32.ChecksumIEEE([]byte(pvc)))
	prefix := strings.TrimRight(pvc[:maxObjectName-len(suffix)-len(hash)], "-.")
	return prefix + hash + suffix
}

// copyCapacity chooses the size of a point-in-time copy: the override, else the snapshot's
// restore size (restores only, when non-zero), else the source's actual capacity, else its
// request.
func copyCapacity(override, restoreSize *resource.Quantity, src *corev1.PersistentVolumeClaim) (resource.Quantity, bool) {
	if override != nil && !override.IsZero() {
		return override.DeepCopy(), true
	}
	if restoreSize != nil && !restoreSize.IsZero() {
		return restoreSize.DeepCopy(), true
	}
	if q, ok := src.Status.Capacity[corev1.ResourceStorage]; ok && !q.IsZero() {
		return q.DeepCopy(), true
	}
	if q, ok := src.Spec.Resources.Requests[corev1.ResourceStorage]; ok && !q.IsZero() {
		return q.DeepCopy(), true
	}
	return resource.Quantity{}, false
}

// copyAccessModes chooses the access modes of a point-in-time copy: the override, else the
// source's.
func copyAccessModes(override []corev1.PersistentVolumeAccessMode, src *corev1.PersistentVolumeClaim) []corev1.PersistentVolumeAccessMode {
	if len(override) > 0 {
		return append([]corev1.PersistentVolumeAccessMode(nil), override...)
	}
	return append([]corev1.PersistentVolumeAccessMode(nil), src.Spec.AccessModes...)
}

// copyStorageClass chooses the StorageClass of a point-in-time copy: the override, else the
// source's.
func copyStorageClass(override *string, src *corev1.PersistentVolumeClaim) *string {
	if override != nil {
		s := *override
		return &s
	}
	if src.Spec.StorageClassName != nil {
		s := *src.Spec.StorageClassName
		return &s
	}
	return nil
}

// volumeModeOr returns *m, or Filesystem when m is nil.
func volumeModeOr(m *corev1.PersistentVolumeMode) *corev1.PersistentVolumeMode {
	v := corev1.PersistentVolumeFilesystem
	if m != nil {
		v = *m
	}
	return &v
}
