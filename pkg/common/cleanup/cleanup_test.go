package cleanup

import (
	"context"
	"slices"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

const testFinalizer = "test.volsync.backube/hold"

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func setup(t *testing.T) (context.Context, string, client.Object, client.Object) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cleanup-"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	var owners []client.Object
	for _, name := range []string{"owner", "other"} {
		rs := &v1alpha1.ReplicationSource{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns.Name},
			Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: "data", RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{}},
		}
		if err := env.Client.Create(ctx, rs); err != nil {
			t.Fatal(err)
		}
		owners = append(owners, rs)
	}
	return ctx, ns.Name, owners[0], owners[1]
}

func pvc(ns, name string, labels map[string]string, finalizers ...string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Finalizers: finalizers},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func exists(ctx context.Context, t *testing.T, obj client.Object, ns, name string) bool {
	t.Helper()
	err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// dropFinalizers plays the controllers that finish a deletion.
func dropFinalizers(ctx context.Context, t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	obj.SetFinalizers(nil)
	if err := env.Client.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
}

func TestTemporaryWaitsForFinalizers(t *testing.T) {
	ctx, ns, owner, other := setup(t)
	mine := map[string]string{v1alpha1.CleanupLabel: string(owner.GetUID())}
	held := pvc(ns, "held", mine, testFinalizer)
	objs := []client.Object{
		held,
		pvc(ns, "theirs", map[string]string{v1alpha1.CleanupLabel: string(other.GetUID())}),
		pvc(ns, "kept", nil),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "temp", Namespace: ns, Labels: mine}},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	lists := []client.ObjectList{&corev1.PersistentVolumeClaimList{}, &corev1.ConfigMapList{}}
	for i := range 3 {
		done, err := Temporary(ctx, env.Client, owner, lists...)
		if err != nil || done {
			t.Fatalf("call %d: done=%v err=%v, want not done while the PVC is held", i, done, err)
		}
	}
	p := &corev1.PersistentVolumeClaim{}
	if !exists(ctx, t, p, ns, "held") || p.DeletionTimestamp == nil {
		t.Fatalf("held PVC not being deleted")
	}
	if exists(ctx, t, &corev1.ConfigMap{}, ns, "temp") {
		t.Errorf("temporary ConfigMap not deleted")
	}
	dropFinalizers(ctx, t, held)
	done, err := Temporary(ctx, env.Client, owner, lists...)
	if err != nil || !done {
		t.Fatalf("after the finalizers went: done=%v err=%v, want done", done, err)
	}
	for _, n := range []string{"theirs", "kept"} {
		if !exists(ctx, t, &corev1.PersistentVolumeClaim{}, ns, n) {
			t.Errorf("%s deleted", n)
		}
	}
	// Nothing to do: done at once.
	if done, err := Temporary(ctx, env.Client, owner, lists...); err != nil || !done {
		t.Errorf("idle: done=%v err=%v", done, err)
	}
}

// TestTemporaryJobsWaitForPods checks that a mover Job is deleted in the foreground: it stays,
// and cleanup is not done, until the garbage collector has removed its pods, so a Job of the
// same name is never created while the old one's pods are still tracked.
func TestTemporaryJobsWaitForPods(t *testing.T) {
	ctx, ns, owner, _ := setup(t)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "mover", Namespace: ns, Labels: map[string]string{v1alpha1.CleanupLabel: string(owner.GetUID())}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "m", Image: "mover"}},
		}}},
	}
	if err := env.Client.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	lists := []client.ObjectList{&batchv1.JobList{}}
	for i := range 2 {
		if done, err := Temporary(ctx, env.Client, owner, lists...); err != nil || done {
			t.Fatalf("call %d: done=%v err=%v, want not done while the Job's pods are being removed", i, done, err)
		}
	}
	got := &batchv1.Job{}
	if !exists(ctx, t, got, ns, "mover") || got.DeletionTimestamp == nil ||
		!slices.Contains(got.Finalizers, metav1.FinalizerDeleteDependents) {
		t.Fatalf("the Job must be deleted in the foreground (finalizers %v)", got.Finalizers)
	}
	dropFinalizers(ctx, t, got) // what the garbage collector does once the pods are gone
	if done, err := Temporary(ctx, env.Client, owner, lists...); err != nil || !done {
		t.Fatalf("after the Job went: done=%v err=%v, want done", done, err)
	}
}

func TestTemporarySnapshots(t *testing.T) {
	ctx, ns, owner, other := setup(t)
	uid := string(owner.GetUID())
	ref := func(o client.Object, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "ReplicationSource",
			Name: o.GetName(), UID: o.GetUID(), Controller: &controller}
	}
	snap := func(name string, labels map[string]string, refs ...metav1.OwnerReference) *snapv1.VolumeSnapshot {
		l := map[string]string{v1alpha1.CleanupLabel: uid, v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}
		for k, v := range labels {
			l[k] = v
		}
		s := &snapv1.VolumeSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l, OwnerReferences: refs},
			Spec:       snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: new("data")}},
		}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	snap("temp", nil, ref(owner, true))
	snap("keep", map[string]string{v1alpha1.DoNotDeleteLabel: "yes"}, ref(owner, true))
	snap("shared", nil, ref(owner, true), ref(other, false))
	// A volume populator is restoring from it for a PVC that exists and does not own it yet;
	// another's mark names a PVC that is gone (stale).
	restored := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "restored", Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if err := env.Client.Create(ctx, restored); err != nil {
		t.Fatal(err)
	}
	snap("restoring", map[string]string{v1alpha1.PopulatorSnapshotLabelPrefix + string(restored.UID): "restored"}, ref(owner, true))
	snap("stale", map[string]string{v1alpha1.PopulatorSnapshotLabelPrefix + "0c5e": "restored"}, ref(owner, true))
	held := snap("held", nil, ref(owner, true))
	held.Finalizers = []string{testFinalizer}
	if err := env.Client.Update(ctx, held); err != nil {
		t.Fatal(err)
	}

	list := &snapv1.VolumeSnapshotList{}
	if done, err := Temporary(ctx, env.Client, owner, list); err != nil || done {
		t.Fatalf("first: done=%v err=%v", done, err)
	}
	if done, err := Temporary(ctx, env.Client, owner, list); err != nil || done {
		t.Fatalf("held: done=%v err=%v, want not done", done, err)
	}
	if exists(ctx, t, &snapv1.VolumeSnapshot{}, ns, "temp") {
		t.Errorf("temp not deleted")
	}
	k := &snapv1.VolumeSnapshot{}
	if !exists(ctx, t, k, ns, "keep") {
		t.Fatal("do-not-delete snapshot deleted")
	}
	if _, has := k.Labels[v1alpha1.CleanupLabel]; has || len(k.OwnerReferences) != 0 || k.Labels[v1alpha1.CreatedByLabel] == "" {
		t.Errorf("keep not relinquished as expected: %+v", k.ObjectMeta)
	}
	s := &snapv1.VolumeSnapshot{}
	if !exists(ctx, t, s, ns, "shared") {
		t.Fatal("shared snapshot deleted")
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != other.GetUID() {
		t.Errorf("shared owners = %v, want only the other owner", s.OwnerReferences)
	}
	r := &snapv1.VolumeSnapshot{}
	if !exists(ctx, t, r, ns, "restoring") {
		t.Fatal("snapshot a volume populator restores from deleted")
	}
	if len(r.OwnerReferences) != 0 {
		t.Errorf("restoring owners = %v, want none (the populator's PVC takes it over)", r.OwnerReferences)
	}
	if exists(ctx, t, &snapv1.VolumeSnapshot{}, ns, "stale") {
		t.Errorf("snapshot with a stale populator mark not deleted")
	}
	rv := s.ResourceVersion
	dropFinalizers(ctx, t, held)
	if done, err := Temporary(ctx, env.Client, owner, list); err != nil || !done {
		t.Fatalf("last: done=%v err=%v, want done", done, err)
	}
	if exists(ctx, t, s, ns, "shared"); s.ResourceVersion != rv {
		t.Errorf("shared snapshot written again")
	}
}
