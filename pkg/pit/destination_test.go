package pit

import (
	"errors"
	"slices"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/cleanup"
	"github.com/volsync-go/volsync/pkg/common/events"
)

const dstName = "volsync-owner-dst"

func destOpts(capacity string) v1alpha1.ReplicationDestinationVolumeOptions {
	return v1alpha1.ReplicationDestinationVolumeOptions{
		CopyMethod: v1alpha1.CopyMethodSnapshot,
		Capacity:   ptr(resource.MustParse(capacity)), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
	}
}

func TestDestinationProvisioned(t *testing.T) {
	f := newFixture(t, true)
	sc := f.storageClass(true)
	opts := destOpts("1Gi")
	opts.StorageClassName = &sc
	block := corev1.PersistentVolumeBlock

	pvc, w, err := f.h.DestinationVolume(f.ctx, opts, &block, dstName)
	if err != nil || pvc == nil {
		t.Fatalf("%v %+v %v", pvc, w, err)
	}
	if w == nil || w.RequeueAfter <= 0 {
		t.Errorf("wait hint = %+v, want a requeue for the not-bound warning", w)
	}
	got := f.getPVC(dstName)
	f.checkOwned(got, false)
	if *got.Spec.VolumeMode != block || *got.Spec.StorageClassName != sc ||
		!slices.Equal(got.Spec.AccessModes, opts.AccessModes) {
		t.Errorf("spec = %+v", got.Spec)
	}
	if q := got.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("size = %s", q.String())
	}
	mustContain(t, f.rec.last(t, events.ReasonPVCCreated).Note, "created PersistentVolumeClaim/volsync-owner-dst to receive incoming data")

	// Quiet at rest.
	if _, _, err = f.h.DestinationVolume(f.ctx, opts, &block, dstName); err != nil {
		t.Fatal(err)
	}
	if f.getPVC(dstName).ResourceVersion != got.ResourceVersion || f.rec.count(events.ReasonPVCCreated) != 1 {
		t.Errorf("second call wrote the PVC or emitted an event")
	}

	// cleanupTempPVC on, then off.
	opts.CleanupTempPVC = true
	if _, _, err = f.h.DestinationVolume(f.ctx, opts, &block, dstName); err != nil {
		t.Fatal(err)
	}
	f.checkOwned(f.getPVC(dstName), true)
	opts.CleanupTempPVC = false
	if _, _, err = f.h.DestinationVolume(f.ctx, opts, &block, dstName); err != nil {
		t.Fatal(err)
	}
	f.checkOwned(f.getPVC(dstName), false)

	// A larger capacity waits for binding, then expands; a smaller one is ignored.
	opts.Capacity = ptr(resource.MustParse("2Gi"))
	if _, _, err = f.h.DestinationVolume(f.ctx, opts, &block, dstName); err != nil {
		t.Fatal(err)
	}
	if q := f.getPVC(dstName).Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("unbound PVC resized to %s", q.String())
	}
	f.bind(dstName, "1Gi")
	if pvc, w, err = f.h.DestinationVolume(f.ctx, opts, &block, dstName); err != nil || pvc == nil || w != nil {
		t.Fatalf("expanding: %v %+v %v", pvc, w, err)
	}
	if q := f.getPVC(dstName).Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Errorf("size after expansion = %s, want 2Gi", q.String())
	}
	rv := f.getPVC(dstName).ResourceVersion
	opts.Capacity = ptr(resource.MustParse("1Gi"))
	if _, _, err = f.h.DestinationVolume(f.ctx, opts, &block, dstName); err != nil {
		t.Fatal(err)
	}
	if f.getPVC(dstName).ResourceVersion != rv {
		t.Errorf("a smaller capacity changed the PVC")
	}
}

func TestDestinationProvisionedErrors(t *testing.T) {
	f := newFixture(t, true)
	opts := destOpts("1Gi")
	opts.Capacity = nil
	if _, _, err := f.h.DestinationVolume(f.ctx, opts, nil, dstName); !errors.Is(err, ErrMissingCapacity) {
		t.Errorf("no capacity: %v", err)
	}
	opts = destOpts("1Gi")
	opts.AccessModes = nil
	if _, _, err := f.h.DestinationVolume(f.ctx, opts, nil, dstName); !errors.Is(err, ErrMissingAccessModes) {
		t.Errorf("no access modes: %v", err)
	}
	opts = destOpts("1Gi")
	opts.StorageClassName = ptr("nope")
	if _, _, err := f.h.DestinationVolume(f.ctx, opts, nil, dstName); !errors.Is(err, ErrStorageClassNotFound) {
		t.Errorf("unknown class: %v", err)
	}
	if got := f.names(); len(got) != 0 {
		t.Errorf("objects after failures: %v", got)
	}
	// Default volume mode; a user PVC of that name is never adopted.
	if _, _, err := f.h.DestinationVolume(f.ctx, destOpts("1Gi"), nil, dstName); err != nil {
		t.Fatal(err)
	}
	if m := f.getPVC(dstName).Spec.VolumeMode; *m != corev1.PersistentVolumeFilesystem {
		t.Errorf("volumeMode = %v", *m)
	}
	f.pvc("taken", "1Gi")
	if _, _, err := f.h.DestinationVolume(f.ctx, destOpts("1Gi"), nil, "taken"); !errors.Is(err, ErrNotOwned) {
		t.Errorf("user PVC: %v, want ErrNotOwned", err)
	}
}

// TestDestinationCopyMethodCheckedBeforeData: a copyMethod that cannot make the image is an
// error before the destination volume exists, not after the data has moved. The CRD defaults
// an empty one to Direct and rejects Clone; this covers a cluster whose CRDs are older.
func TestDestinationCopyMethodCheckedBeforeData(t *testing.T) {
	f := newFixture(t, true)
	for _, m := range []v1alpha1.CopyMethodType{"", v1alpha1.CopyMethodClone} {
		opts := destOpts("1Gi")
		opts.CopyMethod = m
		if _, _, err := f.h.DestinationVolume(f.ctx, opts, nil, dstName); !errors.Is(err, ErrUnsupportedCopyMethod) {
			t.Errorf("copyMethod %q: %v, want ErrUnsupportedCopyMethod", m, err)
		}
	}
	if got := f.names(); len(got) != 0 {
		t.Errorf("objects made for an unusable copyMethod: %v", got)
	}
}

func TestDestinationPVCProvided(t *testing.T) {
	f := newFixture(t, true)
	opts := destOpts("5Gi")
	opts.DestinationPVC = ptr("landing")
	opts.CleanupTempPVC = true
	if _, _, err := f.h.DestinationVolume(f.ctx, opts, nil, dstName); !errors.Is(err, ErrDestinationPVCNotFound) {
		t.Errorf("missing destinationPVC: %v", err)
	}
	user := f.pvc("landing", "1Gi")
	pvc, w, err := f.h.DestinationVolume(f.ctx, opts, nil, dstName)
	if err != nil || w != nil || pvc == nil || pvc.Name != "landing" {
		t.Fatalf("%v %+v %v", pvc, w, err)
	}
	got := f.getPVC("landing")
	if got.ResourceVersion != user.ResourceVersion || len(got.OwnerReferences) != 0 || len(got.Labels) != 0 {
		t.Errorf("user PVC changed: %+v", got.ObjectMeta)
	}
	if f.exists(&corev1.PersistentVolumeClaim{}, dstName) {
		t.Errorf("a PVC was provisioned although destinationPVC is set")
	}
}

func TestDestinationImageDirect(t *testing.T) {
	f := newFixture(t, true)
	pvc := f.pvc("landing", "1Gi")
	for _, m := range []v1alpha1.CopyMethodType{v1alpha1.CopyMethodDirect, v1alpha1.CopyMethodNone} {
		ref, w, err := f.h.DestinationImage(f.ctx, v1alpha1.ReplicationDestinationVolumeOptions{CopyMethod: m}, pvc)
		if err != nil || w != nil || ref == nil || ref.APIGroup == nil || *ref.APIGroup != "" ||
			ref.Kind != "PersistentVolumeClaim" || ref.Name != "landing" {
			t.Errorf("%s: %+v %+v %v", m, ref, w, err)
		}
	}
	for _, m := range []v1alpha1.CopyMethodType{v1alpha1.CopyMethodClone, ""} {
		if _, _, err := f.h.DestinationImage(f.ctx, v1alpha1.ReplicationDestinationVolumeOptions{CopyMethod: m}, pvc); !errors.Is(err, ErrUnsupportedCopyMethod) {
			t.Errorf("%q: %v, want ErrUnsupportedCopyMethod", m, err)
		}
	}
	if got := f.names(); !slices.Equal(got, []string{"pvc/landing"}) {
		t.Errorf("objects = %v", got)
	}
}

func TestDestinationImageSnapshot(t *testing.T) {
	f := newFixture(t, true)
	vsc := f.snapshotClass()
	opts := destOpts("1Gi")
	opts.VolumeSnapshotClassName = &vsc
	pvc := f.pvc("landing", "1Gi")
	start := f.clock.Now()
	want := "landing-" + start.UTC().Format("20060102150405")

	ref, w, err := f.h.DestinationImage(f.ctx, opts, pvc)
	if err != nil || ref != nil || w == nil {
		t.Fatalf("%+v %+v %v, want a wait", ref, w, err)
	}
	if got := f.getPVC("landing").Annotations[v1alpha1.SnapshotNameAnnotation]; got != want {
		t.Errorf("snapname = %q, want %q", got, want)
	}
	snap := f.getSnap(want)
	f.checkOwned(snap, false)
	if *snap.Spec.Source.PersistentVolumeClaimName != "landing" || *snap.Spec.VolumeSnapshotClassName != vsc {
		t.Errorf("snapshot spec = %+v", snap.Spec)
	}
	mustContain(t, f.rec.last(t, events.ReasonVolumeSnapshotCreated).Note, "created VolumeSnapshot/"+want+" from PersistentVolumeClaim/landing")

	// A retry later reuses the name.
	f.clock.Step(5 * time.Second)
	if _, w, err = f.h.DestinationImage(f.ctx, opts, f.getPVC("landing")); err != nil || w == nil {
		t.Fatalf("%+v %v", w, err)
	}
	f.snapStatus(want, true, nil, "1Gi")
	if ref, w, err = f.h.DestinationImage(f.ctx, opts, f.getPVC("landing")); err != nil || ref != nil || w == nil {
		t.Fatalf("bound, readyToUse unset: %+v %+v %v, want a wait", ref, w, err)
	}
	f.snapStatus(want, true, ptr(true), "1Gi")
	ref, w, err = f.h.DestinationImage(f.ctx, opts, f.getPVC("landing"))
	if err != nil || w != nil || ref == nil || *ref.APIGroup != "snapshot.storage.k8s.io" || ref.Kind != "VolumeSnapshot" || ref.Name != want {
		t.Fatalf("ready: %+v %+v %v", ref, w, err)
	}
	var snaps snapv1.VolumeSnapshotList
	if err := env.Client.List(f.ctx, &snaps, client.InNamespace(f.ns)); err != nil || len(snaps.Items) != 1 {
		t.Errorf("%d snapshots (%v), want 1", len(snaps.Items), err)
	}

	// Release: the next iteration takes a new name.
	if err := f.h.ReleaseDestination(f.ctx, "landing", true); err != nil {
		t.Fatal(err)
	}
	if _, has := f.getPVC("landing").Annotations[v1alpha1.SnapshotNameAnnotation]; has {
		t.Errorf("snapname kept after release")
	}
	if err := f.h.ReleaseDestination(f.ctx, "gone", true); err != nil {
		t.Errorf("missing PVC: %v", err)
	}
	f.clock.Step(time.Hour)
	if _, _, err = f.h.DestinationImage(f.ctx, opts, f.getPVC("landing")); err != nil {
		t.Fatal(err)
	}
	next := "landing-" + f.clock.Now().UTC().Format("20060102150405")
	if f.getSnap(next) == nil || next == want {
		t.Errorf("no new snapshot %s", next)
	}

	// An unknown class fails before creating anything.
	g := newFixture(t, true)
	opts.VolumeSnapshotClassName = ptr("nope")
	if _, _, err := g.h.DestinationImage(g.ctx, opts, g.pvc("landing", "1Gi")); !errors.Is(err, ErrVolumeSnapshotClassNotFound) {
		t.Errorf("unknown class: %v", err)
	}
}

func TestDestinationImageDoNotDelete(t *testing.T) {
	f := newFixture(t, true)
	opts := destOpts("1Gi")
	pvc := f.pvc("landing", "1Gi")
	if _, _, err := f.h.DestinationImage(f.ctx, opts, pvc); err != nil {
		t.Fatal(err)
	}
	name := f.getPVC("landing").Annotations[v1alpha1.SnapshotNameAnnotation]
	// The user marks the snapshot to keep before it is ready: it is used but not owned.
	s := f.getSnap(name)
	s.Labels[v1alpha1.DoNotDeleteLabel] = "true"
	if err := env.Client.Update(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	f.snapStatus(name, true, ptr(true), "1Gi")
	ref, w, err := f.h.DestinationImage(f.ctx, opts, f.getPVC("landing"))
	if err != nil || w != nil || ref == nil || ref.Name != name {
		t.Fatalf("%+v %+v %v", ref, w, err)
	}
	if s = f.getSnap(name); len(s.OwnerReferences) != 0 {
		t.Errorf("do-not-delete snapshot still owned: %v", s.OwnerReferences)
	}
	// A snapshot of the same name that someone else made is refused.
	g := newFixture(t, true)
	p := g.pvc("landing", "1Gi", func(p *corev1.PersistentVolumeClaim) {
		p.Annotations = map[string]string{v1alpha1.SnapshotNameAnnotation: "theirs"}
	})
	g.create(&snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "theirs"},
		Spec: snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr("other")}}})
	if _, _, err := g.h.DestinationImage(g.ctx, opts, p); !errors.Is(err, ErrNotOwned) {
		t.Errorf("foreign snapshot: %v, want ErrNotOwned", err)
	}
}

// ownedSnap creates a ready VolumeSnapshot controlled by owner, with extra labels.
func (f *fixture) ownedSnap(name string, owner client.Object, labels map[string]string) *snapv1.VolumeSnapshot {
	f.t.Helper()
	l := map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}
	for k, v := range labels {
		l[k] = v
	}
	s := &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: "ReplicationDestination", Name: owner.GetName(),
			UID: owner.GetUID(), Controller: ptr(true), BlockOwnerDeletion: ptr(true),
		}}},
		Spec: snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr("landing")}},
	}
	f.create(s)
	return s
}

func snapRef(name string) *corev1.TypedLocalObjectReference {
	return &corev1.TypedLocalObjectReference{APIGroup: ptr("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: name}
}

func TestRotateImageAndCleanup(t *testing.T) {
	f := newFixture(t, true)
	uid := string(f.h.Owner.GetUID())
	f.ownedSnap("old", f.h.Owner, nil)
	f.ownedSnap("new", f.h.Owner, nil)
	f.ownedSnap("kept", f.h.Owner, map[string]string{v1alpha1.DoNotDeleteLabel: "true"})
	other := f.newOwner("other", true)
	f.ownedSnap("foreign", other, nil)

	// Not snapshots, same name, missing, do-not-delete, other owner: nothing marked.
	pvcRef := &corev1.TypedLocalObjectReference{APIGroup: ptr(""), Kind: "PersistentVolumeClaim", Name: "old"}
	for _, c := range [][2]*corev1.TypedLocalObjectReference{
		{nil, snapRef("new")}, {pvcRef, snapRef("new")}, {snapRef("new"), snapRef("new")},
		{snapRef("missing"), snapRef("new")}, {snapRef("kept"), snapRef("new")}, {snapRef("foreign"), snapRef("new")},
		{&corev1.TypedLocalObjectReference{Kind: "VolumeSnapshot", Name: "old"}, snapRef("new")},
	} {
		if err := f.h.RotateImage(f.ctx, c[0], c[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"old", "new", "kept", "foreign"} {
		if l, has := f.getSnap(n).Labels[v1alpha1.CleanupLabel]; has {
			t.Errorf("%s marked for cleanup (%s)", n, l)
		}
	}
	if err := f.h.RotateImage(f.ctx, snapRef("old"), snapRef("new")); err != nil {
		t.Fatal(err)
	}
	if f.getSnap("old").Labels[v1alpha1.CleanupLabel] != uid {
		t.Fatalf("old image not marked")
	}
	rv := f.getSnap("old").ResourceVersion
	if err := f.h.RotateImage(f.ctx, snapRef("old"), snapRef("new")); err != nil || f.getSnap("old").ResourceVersion != rv {
		t.Errorf("marking twice wrote again (%v)", err)
	}

	// A marked snapshot the user then keeps, and one a volume populator's PVC also owns.
	f.ownedSnap("kept-late", f.h.Owner, map[string]string{v1alpha1.DoNotDeleteLabel: "", v1alpha1.CleanupLabel: uid})
	shared := f.ownedSnap("shared", f.h.Owner, map[string]string{v1alpha1.CleanupLabel: uid})
	populated := f.pvc("populated", "1Gi")
	shared.OwnerReferences = append(shared.OwnerReferences, metav1.OwnerReference{
		APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: populated.Name, UID: populated.UID,
	})
	if err := env.Client.Update(f.ctx, shared); err != nil {
		t.Fatal(err)
	}

	done, err := cleanup.Temporary(f.ctx, env.Client, f.h.Owner, &snapv1.VolumeSnapshotList{})
	if err != nil || done {
		t.Fatalf("first cleanup: done=%v err=%v, want not done", done, err)
	}
	done, err = cleanup.Temporary(f.ctx, env.Client, f.h.Owner, &snapv1.VolumeSnapshotList{})
	if err != nil || !done {
		t.Fatalf("second cleanup: done=%v err=%v, want done", done, err)
	}
	if f.exists(&snapv1.VolumeSnapshot{}, "old") {
		t.Errorf("old image not deleted")
	}
	for _, n := range []string{"new", "kept", "foreign", "kept-late", "shared"} {
		if !f.exists(&snapv1.VolumeSnapshot{}, n) {
			t.Errorf("%s deleted", n)
		}
	}
	kl := f.getSnap("kept-late")
	if _, has := kl.Labels[v1alpha1.CleanupLabel]; has || len(kl.OwnerReferences) != 0 {
		t.Errorf("kept-late not relinquished: %+v", kl.ObjectMeta)
	}
	sh := f.getSnap("shared")
	if len(sh.OwnerReferences) != 1 || sh.OwnerReferences[0].UID != populated.UID {
		t.Errorf("shared owners = %v, want only the populator's PVC", sh.OwnerReferences)
	}
}

func TestRelinquishDoNotDelete(t *testing.T) {
	f := newFixture(t, true)
	uid := string(f.h.Owner.GetUID())
	other := f.newOwner("other", true)
	f.ownedSnap("mine", f.h.Owner, map[string]string{v1alpha1.DoNotDeleteLabel: "true", v1alpha1.CleanupLabel: uid})
	theirs := f.ownedSnap("theirs", other, map[string]string{v1alpha1.DoNotDeleteLabel: "true", v1alpha1.CleanupLabel: string(other.GetUID())})
	plain := f.ownedSnap("plain", f.h.Owner, nil)

	if err := f.h.RelinquishDoNotDelete(f.ctx); err != nil {
		t.Fatal(err)
	}
	mine := f.getSnap("mine")
	if _, has := mine.Labels[v1alpha1.CleanupLabel]; has || len(mine.OwnerReferences) != 0 {
		t.Errorf("mine not relinquished: %+v", mine.ObjectMeta)
	}
	if mine.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue || mine.Labels[v1alpha1.DoNotDeleteLabel] != "true" {
		t.Errorf("mine lost labels: %v", mine.Labels)
	}
	if f.getSnap("theirs").ResourceVersion != theirs.ResourceVersion {
		t.Errorf("another owner's snapshot was changed")
	}
	if f.getSnap("plain").ResourceVersion != plain.ResourceVersion {
		t.Errorf("a snapshot without do-not-delete was changed")
	}
	rv := mine.ResourceVersion
	if err := f.h.RelinquishDoNotDelete(f.ctx); err != nil || f.getSnap("mine").ResourceVersion != rv {
		t.Errorf("second call wrote again (%v)", err)
	}
}

func TestDestinationImageStalePVC(t *testing.T) {
	f := newFixture(t, true)
	stale := f.pvc("landing", "1Gi")
	// Someone (an earlier reconcile) changed the PVC; our copy is stale.
	fresh := f.getPVC("landing")
	fresh.Labels = map[string]string{"touched": "yes"}
	if err := env.Client.Update(f.ctx, fresh); err != nil {
		t.Fatal(err)
	}
	ref, w, err := f.h.DestinationImage(f.ctx, destOpts("1Gi"), stale)
	if err != nil || ref != nil || w == nil || w.RequeueAfter != ConflictRetry {
		t.Fatalf("%+v %+v %v, want a short wait", ref, w, err)
	}
	if _, has := stale.Annotations[v1alpha1.SnapshotNameAnnotation]; has {
		t.Errorf("the caller's copy was changed although the patch failed")
	}
	if _, has := f.getPVC("landing").Annotations[v1alpha1.SnapshotNameAnnotation]; has || len(f.names()) != 1 {
		t.Errorf("a snapshot name was chosen from a stale PVC: %v", f.names())
	}
}
