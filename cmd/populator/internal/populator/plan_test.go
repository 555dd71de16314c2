package populator

import (
	"strings"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("a", 62) + "-b" + strings.Repeat("c", 10)
	for _, tc := range []struct{ in, want string }{
		{"restored", "restored"},
		{"data.v1", "data.v1"},
		{long, strings.Repeat("a", 62)}, // cut at 63, trailing '-' dropped
		{strings.Repeat("x", 253), strings.Repeat("x", 63)},
	} {
		if got := LabelValue(tc.in); got != tc.want {
			t.Errorf("LabelValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSourceRD(t *testing.T) {
	group, other := v1alpha1.GroupVersion.Group, "example.com"
	for _, tc := range []struct {
		ref  *corev1.TypedObjectReference
		want bool
	}{
		{nil, false},
		{&corev1.TypedObjectReference{APIGroup: &group, Kind: "ReplicationDestination", Name: "rd"}, true},
		{&corev1.TypedObjectReference{APIGroup: &other, Kind: "ReplicationDestination", Name: "rd"}, false},
		{&corev1.TypedObjectReference{Kind: "ReplicationDestination", Name: "rd"}, false},
		{&corev1.TypedObjectReference{APIGroup: &group, Kind: "ReplicationSource", Name: "rs"}, false},
	} {
		pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{DataSourceRef: tc.ref}}
		if _, got := SourceRD(pvc); got != tc.want {
			t.Errorf("SourceRD(%+v) = %v, want %v", tc.ref, got, tc.want)
		}
	}
}

func TestCheckClass(t *testing.T) {
	wffc, imm := storagev1.VolumeBindingWaitForFirstConsumer, storagev1.VolumeBindingImmediate
	sc := func(prov string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
		return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "sc"}, Provisioner: prov, VolumeBindingMode: &mode}
	}
	pvc := func(class *string, ann map[string]string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Annotations: ann}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: class}}
	}
	name, empty := "sc", ""
	for _, tc := range []struct {
		what   string
		pvc    *corev1.PersistentVolumeClaim
		class  *storagev1.StorageClass
		notice string // part of the notice, "" for none
		wait   bool
	}{
		{"ready", pvc(&name, nil), sc("csi.x", imm), "", false},
		{"no class name", pvc(nil, nil), nil, "no storageClassName", true},
		{"empty class name", pvc(&empty, nil), nil, "no storageClassName", true},
		{"class missing", pvc(&name, nil), nil, `StorageClass "sc" not found`, true},
		{"in-tree", pvc(&name, nil), sc("kubernetes.io/aws-ebs", imm), "in-tree volume plugin", true},
		{"in-tree migrated", pvc(&name, map[string]string{migratedToAnnotation: "ebs.csi.aws.com"}), sc("kubernetes.io/aws-ebs", imm), "", false},
		{"WFFC without node: wait quietly", pvc(&name, nil), sc("csi.x", wffc), "", true},
		{"WFFC with node", pvc(&name, map[string]string{selectedNodeAnnotation: "n1"}), sc("csi.x", wffc), "", false},
	} {
		n, wait := checkClass(tc.pvc, tc.class)
		if wait != tc.wait || (n == nil) != (tc.notice == "") || (n != nil && (!strings.Contains(n.Message, tc.notice) || !n.Warning)) {
			t.Errorf("%s: notice %+v wait %v; want notice with %q, wait %v", tc.what, n, wait, tc.notice, tc.wait)
		}
	}
}

func TestPrimeDoneAndDeferred(t *testing.T) {
	bound := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv"}}
	prime := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
	if primeDone(bound, prime) {
		t.Error("done while the prime PVC still holds the volume")
	}
	prime.Status.Phase = corev1.ClaimLost
	if !primeDone(bound, prime) || primeDone(&corev1.PersistentVolumeClaim{}, prime) {
		t.Error("primeDone wrong once the prime PVC is Lost")
	}

	snap := func(labels map[string]string, owners int) *snapv1.VolumeSnapshot {
		s := &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Labels: labels}}
		for range owners {
			s.OwnerReferences = append(s.OwnerReferences, metav1.OwnerReference{UID: "x"})
		}
		return s
	}
	cleanup := map[string]string{v1alpha1.CleanupLabel: "rd-uid"}
	kept := map[string]string{v1alpha1.CleanupLabel: "rd-uid", v1alpha1.DoNotDeleteLabel: "true"}
	for _, tc := range []struct {
		what string
		snap *snapv1.VolumeSnapshot
		want bool
	}{
		{"replaced, left to us", snap(cleanup, 0), true},
		{"still owned", snap(cleanup, 1), false},
		{"not replaced (latest image)", snap(nil, 0), false},
		{"kept by the user", snap(kept, 0), false},
	} {
		if got := deferred(tc.snap); got != tc.want {
			t.Errorf("%s: deferred = %v, want %v", tc.what, got, tc.want)
		}
	}
}
