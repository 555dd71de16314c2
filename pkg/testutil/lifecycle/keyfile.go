package lifecycle

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// imageUID and imageGID are the mover images' USER: who the mover runs as when neither the pod
// nor the container sets runAsUser/runAsGroup.
const (
	imageUID = 65534
	imageGID = 65534
	// kubeletFSGroupReadMask is what the kubelet ORs into the mode of a read-only volume's
	// files when the pod has an fsGroup (SetVolumeOwnership).
	kubeletFSGroupReadMask int32 = 0o440
)

// FileAccess is what the kubelet gives the mover process for a file of a Secret or ConfigMap
// volume.
type FileAccess struct {
	UID    int64
	Groups []int64
	// FileGroup: files of a Secret volume are owned by root, their group is the pod's fsGroup
	// if any.
	FileGroup int64
	Mode      int32
	// DACOverride: the container may ignore file permissions (privileged movers).
	DACOverride bool
}

// KeyFileAccess reads from a mover pod who its container runs as and how the kubelet lays out
// file (an item's path) of the Secret or ConfigMap volume mounted at mountPath: its mode is
// the item's mode, else the volume's defaultMode, else the API default.
func KeyFileAccess(t *testing.T, pod corev1.PodSpec, container, mountPath, file string) FileAccess {
	t.Helper()
	a := FileAccess{UID: imageUID, Mode: corev1.SecretVolumeSourceDefaultMode}
	gid := int64(imageGID)
	if psc := pod.SecurityContext; psc != nil {
		a.UID = ptr.Deref(psc.RunAsUser, a.UID)
		gid = ptr.Deref(psc.RunAsGroup, gid)
		a.Groups = append(a.Groups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			a.Groups = append(a.Groups, *psc.FSGroup)
			a.FileGroup = *psc.FSGroup
		}
	}
	i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == container })
	if i < 0 {
		t.Fatalf("no %s container", container)
	}
	c := pod.Containers[i]
	if sc := c.SecurityContext; sc != nil {
		a.UID = ptr.Deref(sc.RunAsUser, a.UID)
		gid = ptr.Deref(sc.RunAsGroup, gid)
		if sc.Capabilities != nil {
			a.DACOverride = slices.ContainsFunc(sc.Capabilities.Add, func(c corev1.Capability) bool {
				return c == "DAC_OVERRIDE" || c == "DAC_READ_SEARCH"
			})
		}
	}
	a.Groups = append(a.Groups, gid)
	m := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == mountPath })
	if m < 0 {
		t.Fatalf("nothing is mounted at %s", mountPath)
	}
	v := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[m].Name })
	var items []corev1.KeyToPath
	switch {
	case v >= 0 && pod.Volumes[v].Secret != nil:
		items, a.Mode = pod.Volumes[v].Secret.Items, ptr.Deref(pod.Volumes[v].Secret.DefaultMode, a.Mode)
	case v >= 0 && pod.Volumes[v].ConfigMap != nil:
		items, a.Mode = pod.Volumes[v].ConfigMap.Items, ptr.Deref(pod.Volumes[v].ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	default:
		t.Fatalf("the volume at %s is not a Secret or ConfigMap volume", mountPath)
	}
	// file is the file's name in the volume: a key's item path.
	found := len(items) == 0
	for _, it := range items {
		if it.Path == file {
			found = true
			a.Mode = ptr.Deref(it.Mode, a.Mode)
		}
	}
	if !found {
		t.Fatalf("file %s is not among the items of the volume at %s: %+v", file, mountPath, items)
	}
	if pod.SecurityContext != nil && pod.SecurityContext.FSGroup != nil {
		// With an fsGroup the kubelet also adds group read to a read-only volume's files: why
		// the destination could read an 0400 key and the source could not.
		a.Mode |= kubeletFSGroupReadMask
	}
	return a
}

// CanRead applies the kernel's permission check to the file (owner root).
func (a FileAccess) CanRead() bool {
	const ownerRead, groupRead, otherRead = 0o400, 0o040, 0o004
	switch {
	case a.DACOverride:
		return true
	case a.UID == 0:
		return a.Mode&ownerRead != 0
	case slices.Contains(a.Groups, a.FileGroup):
		return a.Mode&groupRead != 0
	default:
		return a.Mode&otherRead != 0
	}
}
