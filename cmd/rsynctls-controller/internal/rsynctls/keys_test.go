package rsynctls

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// imageUID and imageGID are the mover image's USER (images/rsync-tls/Dockerfile): who the mover
// runs as when neither the pod nor the container sets runAsUser/runAsGroup.
const (
	imageUID = 65534
	imageGID = 65534
	// kubeletFSGroupReadMask is what the kubelet ORs into the mode of a read-only volume's
	// files when the pod has an fsGroup (SetVolumeOwnership).
	kubeletFSGroupReadMask int32 = 0o440
)

// keyFileAccess is what the kubelet gives the mover process for the key file of a mover pod.
type keyFileAccess struct {
	uid    int64
	groups []int64
	// Files of a Secret volume are owned by root, their group is the pod's fsGroup if any.
	fileGroup int64
	mode      int32
	// dacOverride: the container may ignore file permissions (privileged movers).
	dacOverride bool
}

// keyAccess reads from a built mover pod who the mover runs as and how the kubelet lays out
// the key file: its mode is the item's mode, else the volume's defaultMode, else the API default.
func keyAccess(t *testing.T, pod corev1.PodSpec) keyFileAccess {
	t.Helper()
	a := keyFileAccess{uid: imageUID, mode: corev1.SecretVolumeSourceDefaultMode}
	gid := int64(imageGID)
	if psc := pod.SecurityContext; psc != nil {
		a.uid = ptr.Deref(psc.RunAsUser, a.uid)
		gid = ptr.Deref(psc.RunAsGroup, gid)
		a.groups = append(a.groups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			a.groups = append(a.groups, *psc.FSGroup)
			a.fileGroup = *psc.FSGroup
		}
	}
	i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == containerName })
	if i < 0 {
		t.Fatalf("no %s container", containerName)
	}
	c := pod.Containers[i]
	if sc := c.SecurityContext; sc != nil {
		a.uid = ptr.Deref(sc.RunAsUser, a.uid)
		gid = ptr.Deref(sc.RunAsGroup, gid)
		if sc.Capabilities != nil {
			a.dacOverride = slices.ContainsFunc(sc.Capabilities.Add, func(c corev1.Capability) bool {
				return c == "DAC_OVERRIDE" || c == "DAC_READ_SEARCH"
			})
		}
	}
	a.groups = append(a.groups, gid)
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == keysVolume && m.MountPath == keysMountPath }) {
		t.Fatalf("the key volume is not mounted at %s", keysMountPath)
	}
	v := pod.Volumes[slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == keysVolume })]
	if v.Secret == nil {
		t.Fatalf("volume %s is not a Secret volume", keysVolume)
	}
	a.mode = ptr.Deref(v.Secret.DefaultMode, a.mode)
	for _, it := range v.Secret.Items {
		if it.Key == PSKKey {
			a.mode = ptr.Deref(it.Mode, a.mode)
		}
	}
	if pod.SecurityContext != nil && pod.SecurityContext.FSGroup != nil {
		// With an fsGroup the kubelet also adds group read to a read-only volume's files: why
		// the destination could read an 0400 key and the source could not.
		a.mode |= kubeletFSGroupReadMask
	}
	return a
}

// canRead applies the kernel's permission check to the key file (owner root).
func (a keyFileAccess) canRead() bool {
	const ownerRead, groupRead, otherRead = 0o400, 0o040, 0o004
	switch {
	case a.dacOverride:
		return true
	case a.uid == 0:
		return a.mode&ownerRead != 0
	case slices.Contains(a.groups, a.fileGroup):
		return a.mode&groupRead != 0
	default:
		return a.mode&otherRead != 0
	}
}

// TestKeyReadableByMover: in every security setup the mover can read its key file, in
// particular the default unprivileged source (uid 65534 without an fsGroup), which could not
// with an owner-only mode (issue 8: "open /keys/psk.txt: permission denied").
func TestKeyReadableByMover(t *testing.T) {
	userSC := func(fsGroup bool) *corev1.PodSecurityContext {
		sc := &corev1.PodSecurityContext{
			RunAsUser: ptr.To(int64(1234)), RunAsGroup: ptr.To(int64(5678)), RunAsNonRoot: ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
		if fsGroup {
			sc.FSGroup = ptr.To(int64(5678))
		}
		return sc
	}
	setups := []struct {
		name       string
		privileged bool
		sc         *corev1.PodSecurityContext
	}{
		{name: "default unprivileged"},
		{name: "moverSecurityContext with fsGroup", sc: userSC(true)},
		{name: "moverSecurityContext without fsGroup", sc: userSC(false)},
		{name: "privileged", privileged: true},
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns"}}
	for _, setup := range setups {
		env := mover.Env{Privileged: setup.privileged}
		cfg := v1alpha1.MoverConfig{MoverSecurityContext: setup.sc}

		rs := &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns"},
			Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: "data", RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{
				Address: ptr.To("dest.example"), MoverConfig: cfg}}}
		src, err := Builder{Image: testImage}.FromSource(env, rs)
		must(t, err)
		rd := &v1alpha1.ReplicationDestination{ObjectMeta: metav1.ObjectMeta{Name: "dst", Namespace: "ns"},
			Spec: v1alpha1.ReplicationDestinationSpec{RsyncTLS: &v1alpha1.ReplicationDestinationRsyncTLSSpec{MoverConfig: cfg}}}
		dst, err := Builder{Image: testImage}.FromDestination(env, rd)
		must(t, err)

		sides := map[string]jobs.Spec{
			"source":      src.(*source).jobSpec(src.(*source).moverJob("key", pvc), "sa"),
			"destination": dst.(*destination).jobSpec(dst.(*destination).moverJob("key", pvc), "sa"),
		}
		for side, spec := range sides {
			t.Run(setup.name+"/"+side, func(t *testing.T) {
				a := keyAccess(t, jobs.Build(spec).Spec.Template.Spec)
				if !a.canRead() {
					t.Fatalf("the mover (uid %d, groups %v) cannot read %s/%s (owner root, group %d, mode %#o)",
						a.uid, a.groups, keysMountPath, PSKKey, a.fileGroup, a.mode)
				}
			})
		}
	}
}
