package provisioner

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// These table tests cover the decisions whose envtest counterpart would have to prove that
// nothing happens (which needs waiting); the envtest tests cover the positive paths.

func TestShouldProvision(t *testing.T) {
	const drv = "hostpath.csi.volsync.test"
	p := &Provisioner{cfg: Config{DriverName: drv, NodeID: "node-a"}}
	immediate, wffc := storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer
	class := func(prov string, mode *storagev1.VolumeBindingMode) *storagev1.StorageClass {
		return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "sc"}, Provisioner: prov, VolumeBindingMode: mode}
	}
	claim := func(ann map[string]string, mut func(c *corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		sc := "sc"
		c := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns", Annotations: ann},
			Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: &sc},
			Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
		}
		if mut != nil {
			mut(c)
		}
		return c
	}
	ours := map[string]string{AnnStorageProvisioner: drv}
	now := metav1.Now()
	cases := []struct {
		name   string
		claim  *corev1.PersistentVolumeClaim
		class  *storagev1.StorageClass
		want   bool
		reason string
	}{
		{"immediate, annotated", claim(ours, nil), class(drv, &immediate), true, ""},
		{"binding mode unset means immediate", claim(ours, nil), class(drv, nil), true, ""},
		{"beta annotation", claim(map[string]string{AnnBetaStorageProvisioner: drv}, nil), class(drv, &immediate), true, ""},
		{"phase not yet set", claim(ours, func(c *corev1.PersistentVolumeClaim) { c.Status.Phase = "" }), class(drv, nil), true, ""},
		{"no annotation: PV controller has not handed it over", claim(nil, nil), class(drv, &immediate), false, "annotation"},
		{"other provisioner annotated", claim(map[string]string{AnnStorageProvisioner: "other"}, nil), class(drv, &immediate), false, "annotation"},
		{"class of another provisioner", claim(ours, nil), class("other", &immediate), false, "StorageClass provisioner"},
		{"class missing", claim(ours, nil), nil, false, "not found"},
		{"already bound", claim(ours, func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv" }), class(drv, nil), false, "bound"},
		{"phase bound", claim(ours, func(c *corev1.PersistentVolumeClaim) { c.Status.Phase = corev1.ClaimBound }), class(drv, nil), false, "phase"},
		{"being deleted", claim(ours, func(c *corev1.PersistentVolumeClaim) { c.DeletionTimestamp = &now }), class(drv, nil), false, "deleted"},
		{"WFFC without selected node", claim(ours, nil), class(drv, &wffc), false, "scheduler"},
		{"WFFC selected another node", claim(map[string]string{AnnStorageProvisioner: drv, AnnSelectedNode: "node-b"}, nil), class(drv, &wffc), false, "not this node"},
		{"WFFC selected this node", claim(map[string]string{AnnStorageProvisioner: drv, AnnSelectedNode: "node-a"}, nil), class(drv, &wffc), true, ""},
		{"populator data source", claim(ours, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: new("volsync.backube"), Kind: "ReplicationDestination", Name: "rd"}
		}), class(drv, &immediate), false, "ReplicationDestination.volsync.backube belongs to a volume populator"},
		{"snapshot data source", claim(ours, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: new("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "s"}
		}), class(drv, &immediate), true, ""},
		{"clone data source", claim(ours, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSourceRef = &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "p"}
		}), class(drv, &immediate), true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := p.shouldProvision(tc.claim, tc.class)
			if got != tc.want || !strings.Contains(reason, tc.reason) {
				t.Fatalf("shouldProvision = %v (%q), want %v (reason containing %q)", got, reason, tc.want, tc.reason)
			}
		})
	}
}

func TestShouldDelete(t *testing.T) {
	const drv = "hostpath.csi.volsync.test"
	p := &Provisioner{cfg: Config{DriverName: drv}}
	pv := func(mut func(pv *corev1.PersistentVolume)) *corev1.PersistentVolume {
		v := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "pv", Annotations: map[string]string{AnnProvisionedBy: drv}},
			Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
					Driver: drv, VolumeHandle: "vol-1",
				}},
			},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased},
		}
		if mut != nil {
			mut(v)
		}
		return v
	}
	cases := []struct {
		name string
		pv   *corev1.PersistentVolume
		want bool
	}{
		{"released, delete policy", pv(nil), true},
		{"bound", pv(func(v *corev1.PersistentVolume) { v.Status.Phase = corev1.VolumeBound }), false},
		{"available", pv(func(v *corev1.PersistentVolume) { v.Status.Phase = corev1.VolumeAvailable }), false},
		{"retain policy", pv(func(v *corev1.PersistentVolume) {
			v.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
		}), false},
		{"not provisioned by us", pv(func(v *corev1.PersistentVolume) { v.Annotations = nil }), false},
		{"another driver", pv(func(v *corev1.PersistentVolume) { v.Spec.CSI.Driver = "other" }), false},
		{"not CSI", pv(func(v *corev1.PersistentVolume) {
			v.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}
		}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.shouldDelete(tc.pv); got != tc.want {
				t.Fatalf("shouldDelete = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAccessModeMapping(t *testing.T) {
	for m, want := range map[corev1.PersistentVolumeAccessMode]string{
		corev1.ReadWriteOnce:    "SINGLE_NODE_WRITER",
		corev1.ReadOnlyMany:     "MULTI_NODE_READER_ONLY",
		corev1.ReadWriteMany:    "MULTI_NODE_MULTI_WRITER",
		corev1.ReadWriteOncePod: "SINGLE_NODE_SINGLE_WRITER",
	} {
		if got := accessMode(m).String(); got != want {
			t.Errorf("accessMode(%s) = %s, want %s", m, got, want)
		}
	}
}
