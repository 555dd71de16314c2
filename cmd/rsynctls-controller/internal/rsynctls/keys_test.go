package rsynctls

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

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
		lifecycle.Must(t, err)
		rd := &v1alpha1.ReplicationDestination{ObjectMeta: metav1.ObjectMeta{Name: "dst", Namespace: "ns"},
			Spec: v1alpha1.ReplicationDestinationSpec{RsyncTLS: &v1alpha1.ReplicationDestinationRsyncTLSSpec{MoverConfig: cfg}}}
		dst, err := Builder{Image: testImage}.FromDestination(env, rd)
		lifecycle.Must(t, err)

		sides := map[string]jobs.Spec{
			"source":      src.(*source).Spec(withData(src.(*source).moverJob("key"), pvc), "sa"),
			"destination": dst.(*destination).Spec(withData(dst.(*destination).moverJob("key"), pvc), "sa"),
		}
		for side, spec := range sides {
			t.Run(setup.name+"/"+side, func(t *testing.T) {
				a := lifecycle.KeyFileAccess(t, jobs.Build(spec).Spec.Template.Spec, containerName, keysMountPath, PSKKey)
				if !a.CanRead() {
					t.Fatalf("the mover (uid %d, groups %v) cannot read %s/%s (owner root, group %d, mode %#o)",
						a.UID, a.Groups, keysMountPath, PSKKey, a.FileGroup, a.Mode)
				}
			})
		}
	}
}

func withData(j jobmover.Job, pvc *corev1.PersistentVolumeClaim) jobmover.Job {
	j.Data = &jobs.Data{PVC: pvc}
	return j
}
