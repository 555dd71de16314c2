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

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
)

const pitName = "volsync-owner-src"

func TestSourceDirect(t *testing.T) {
	f := newFixture(t, false)
	f.pvc("data", "1Gi")
	for _, m := range []v1alpha1.CopyMethodType{v1alpha1.CopyMethodDirect, v1alpha1.CopyMethodNone} {
		pvc, w, err := f.h.SourceCopy(f.ctx, v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: m}, "data")
		if err != nil || w != nil || pvc == nil || pvc.Name != "data" {
			t.Fatalf("%s: got %v, %+v, %v; want the source PVC", m, pvc, w, err)
		}
	}
	if got := f.names(); !slices.Equal(got, []string{"pvc/data"}) {
		t.Errorf("objects = %v, want only the source", got)
	}
}

func TestSourceCloneDefaults(t *testing.T) {
	f := newFixture(t, false)
	sc := f.storageClass(false)
	block := corev1.PersistentVolumeBlock
	f.pvc("data", "1Gi", func(p *corev1.PersistentVolumeClaim) {
		p.Spec.StorageClassName = &sc
		p.Spec.VolumeMode = &block
		p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany}
	})
	f.bind("data", "2Gi") // status.capacity wins over the request

	opts := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone}
	pvc, w, err := f.h.SourceCopy(f.ctx, opts, "data")
	if err != nil || pvc == nil {
		t.Fatalf("SourceCopy: %v, %+v, %v", pvc, w, err)
	}
	if w == nil || w.Failed || w.RequeueAfter <= 0 || w.RequeueAfter > PVCBindTimeout {
		t.Errorf("wait hint = %+v, want a requeue within %v for the not-bound warning", w, PVCBindTimeout)
	}
	got := f.getPVC(pitName)
	f.checkOwned(got, true)
	if q := got.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Errorf("size = %s, want the source's capacity 2Gi", q.String())
	}
	if got.Spec.StorageClassName == nil || *got.Spec.StorageClassName != sc {
		t.Errorf("storageClassName = %v, want %s", got.Spec.StorageClassName, sc)
	}
	if !slices.Equal(got.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany}) {
		t.Errorf("accessModes = %v", got.Spec.AccessModes)
	}
	if got.Spec.VolumeMode == nil || *got.Spec.VolumeMode != block {
		t.Errorf("volumeMode = %v, want Block", got.Spec.VolumeMode)
	}
	ds := got.Spec.DataSource
	if ds == nil || ds.APIGroup != nil || ds.Kind != "PersistentVolumeClaim" || ds.Name != "data" {
		t.Errorf("dataSource = %+v, want the source PVC", ds)
	}
	ev := f.rec.last(t, events.ReasonPVCCreated)
	if ev.Type != corev1.EventTypeNormal || ev.Action != events.ActionCreatePVC || ev.Related != pitName {
		t.Errorf("event = %+v", ev)
	}
	mustContain(t, ev.Note, "created PersistentVolumeClaim/volsync-owner-src as a clone of PersistentVolumeClaim/data")

	// Again: the same clone, nothing written, no new event.
	rv := got.ResourceVersion
	pvc, _, err = f.h.SourceCopy(f.ctx, opts, "data")
	if err != nil || pvc == nil || pvc.Name != pitName {
		t.Fatalf("second SourceCopy: %v, %v", pvc, err)
	}
	if f.getPVC(pitName).ResourceVersion != rv || f.rec.count(events.ReasonPVCCreated) != 1 {
		t.Errorf("second call wrote the clone or emitted another event")
	}
}

func TestSourceCloneOverrides(t *testing.T) {
	f := newFixture(t, false)
	f.pvc("data", "1Gi") // unbound: no status capacity, the request is the default
	sc := f.storageClass(false)
	opts := v1alpha1.ReplicationSourceVolumeOptions{
		CopyMethod: v1alpha1.CopyMethodClone, Capacity: ptr(resource.MustParse("5Gi")),
		StorageClassName: &sc, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
	}
	if _, _, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil {
		t.Fatal(err)
	}
	got := f.getPVC(pitName)
	if q := got.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("5Gi")) != 0 {
		t.Errorf("size = %s, want 5Gi", q.String())
	}
	if *got.Spec.StorageClassName != sc || !slices.Equal(got.Spec.AccessModes, opts.AccessModes) {
		t.Errorf("spec = %+v", got.Spec)
	}
	if *got.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("volumeMode = %v, want Filesystem", *got.Spec.VolumeMode)
	}

	// Without overrides on an unbound source the request is used.
	g := newFixture(t, false)
	g.pvc("data", "3Gi")
	if _, _, err := g.h.SourceCopy(g.ctx, v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone}, "data"); err != nil {
		t.Fatal(err)
	}
	if q := g.getPVC(pitName).Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("3Gi")) != 0 {
		t.Errorf("size = %s, want the request 3Gi", q.String())
	}
}

func TestSourceCloneNotBoundWarningOnce(t *testing.T) {
	f := newFixture(t, false)
	f.pvc("data", "1Gi")
	opts := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone}
	if _, _, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(60 * time.Second)
	pvc, w, err := f.h.SourceCopy(f.ctx, opts, "data")
	if err != nil || pvc == nil || w == nil {
		t.Fatalf("SourceCopy: %v %+v %v", pvc, w, err)
	}
	if w.RequeueAfter <= 0 || w.RequeueAfter > 61*time.Second {
		t.Errorf("requeue = %v, want about 60s", w.RequeueAfter)
	}
	if n := f.rec.count(events.ReasonPVCNotBound); n != 0 {
		t.Fatalf("warning emitted before the timeout")
	}
	f.clock.Step(62 * time.Second)
	for range 3 {
		pvc, w, err = f.h.SourceCopy(f.ctx, opts, "data")
		if err != nil || pvc == nil || w == nil || w.RequeueAfter != 0 {
			t.Fatalf("SourceCopy after timeout: %v %+v %v", pvc, w, err)
		}
	}
	if n := f.rec.count(events.ReasonPVCNotBound); n != 1 {
		t.Errorf("%d not-bound warnings, want exactly 1", n)
	}
	ev := f.rec.last(t, events.ReasonPVCNotBound)
	if ev.Type != corev1.EventTypeWarning {
		t.Errorf("event type %s", ev.Type)
	}
	mustContain(t, ev.Note, "waiting for PersistentVolumeClaim/volsync-owner-src to bind")
	f.bind(pitName, "1Gi")
	if pvc, w, err = f.h.SourceCopy(f.ctx, opts, "data"); err != nil || pvc == nil || w != nil {
		t.Errorf("bound clone: %v %+v %v, want no wait", pvc, w, err)
	}
}

func TestSourceSnapshot(t *testing.T) {
	f := newFixture(t, false)
	vsc := f.snapshotClass()
	sc := f.storageClass(false)
	f.pvc("data", "1Gi", func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = &sc })
	f.bind("data", "2Gi")
	opts := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot, VolumeSnapshotClassName: &vsc}

	pvc, w, err := f.h.SourceCopy(f.ctx, opts, "data")
	if err != nil || pvc != nil || w == nil || w.Failed {
		t.Fatalf("SourceCopy: %v %+v %v, want a wait for the snapshot", pvc, w, err)
	}
	mustContain(t, w.Message, "VolumeSnapshot/volsync-owner-src")
	snap := f.getSnap(pitName)
	f.checkOwned(snap, true)
	if s := snap.Spec.Source.PersistentVolumeClaimName; s == nil || *s != "data" {
		t.Errorf("snapshot source = %v", s)
	}
	if c := snap.Spec.VolumeSnapshotClassName; c == nil || *c != vsc {
		t.Errorf("snapshot class = %v", c)
	}
	mustContain(t, f.rec.last(t, events.ReasonVolumeSnapshotCreated).Note,
		"created VolumeSnapshot/volsync-owner-src from PersistentVolumeClaim/data")

	// Bound but readyToUse unset, then false: still waiting (the reference accepted unset).
	for _, ready := range []*bool{nil, ptr(false)} {
		f.snapStatus(pitName, true, ready, "3Gi")
		if pvc, w, err = f.h.SourceCopy(f.ctx, opts, "data"); err != nil || pvc != nil || w == nil {
			t.Fatalf("readyToUse %v: %v %+v %v, want a wait", ready, pvc, w, err)
		}
	}
	// Ready but not bound: waiting.
	f.snapStatus(pitName, false, ptr(true), "3Gi")
	if pvc, w, err = f.h.SourceCopy(f.ctx, opts, "data"); err != nil || pvc != nil || w == nil {
		t.Fatalf("unbound: %v %+v %v, want a wait", pvc, w, err)
	}
	// The not-bound warning: once, after 30 s.
	f.clock.Step(32 * time.Second)
	for range 2 {
		if _, _, err = f.h.SourceCopy(f.ctx, opts, "data"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.rec.count(events.ReasonVolumeSnapshotNotBound); n != 1 {
		t.Errorf("%d snapshot warnings, want 1", n)
	}

	f.snapStatus(pitName, true, ptr(true), "3Gi")
	pvc, _, err = f.h.SourceCopy(f.ctx, opts, "data")
	if err != nil || pvc == nil || pvc.Name != pitName {
		t.Fatalf("ready snapshot: %v %v, want the restored PVC", pvc, err)
	}
	got := f.getPVC(pitName)
	f.checkOwned(got, true)
	if q := got.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("3Gi")) != 0 {
		t.Errorf("size = %s, want the restore size 3Gi", q.String())
	}
	ds := got.Spec.DataSource
	if ds == nil || ds.APIGroup == nil || *ds.APIGroup != "snapshot.storage.k8s.io" || ds.Kind != "VolumeSnapshot" || ds.Name != pitName {
		t.Errorf("dataSource = %+v", ds)
	}
	if *got.Spec.StorageClassName != sc {
		t.Errorf("storageClassName = %v", *got.Spec.StorageClassName)
	}
	mustContain(t, f.rec.last(t, events.ReasonPVCCreated).Note,
		"created PersistentVolumeClaim/volsync-owner-src from VolumeSnapshot/volsync-owner-src")
}

func TestSourceSnapshotSizeFallback(t *testing.T) {
	f := newFixture(t, false)
	f.pvc("data", "1Gi")
	f.bind("data", "4Gi")
	opts := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot}
	if _, _, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil {
		t.Fatal(err)
	}
	if c := f.getSnap(pitName).Spec.VolumeSnapshotClassName; c != nil {
		t.Errorf("snapshot class = %v, want the default (unset)", *c)
	}
	f.snapStatus(pitName, true, ptr(true), "") // no restoreSize
	if pvc, _, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil || pvc == nil {
		t.Fatalf("%v %v", pvc, err)
	}
	if q := f.getPVC(pitName).Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("4Gi")) != 0 {
		t.Errorf("size = %s, want the source capacity 4Gi", q.String())
	}
}

func TestSourceErrors(t *testing.T) {
	f := newFixture(t, false)
	clone := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone}
	if _, _, err := f.h.SourceCopy(f.ctx, clone, "data"); !errors.Is(err, ErrSourcePVCNotFound) {
		t.Errorf("missing source: %v", err)
	}
	f.pvc("data", "1Gi")
	cases := []struct {
		name string
		opts v1alpha1.ReplicationSourceVolumeOptions
		want error
	}{
		{"clone-unknown-sc", v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone, StorageClassName: ptr("nope")}, ErrStorageClassNotFound},
		{"snap-unknown-sc", v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot, StorageClassName: ptr("nope")}, ErrStorageClassNotFound},
		{"snap-unknown-vsc", v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot, VolumeSnapshotClassName: ptr("nope")}, ErrVolumeSnapshotClassNotFound},
		{"empty-method", v1alpha1.ReplicationSourceVolumeOptions{}, ErrUnsupportedCopyMethod},
	}
	for _, c := range cases {
		if _, _, err := f.h.SourceCopy(f.ctx, c.opts, "data"); !errors.Is(err, c.want) || !IsInvalidInput(err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		} else if !errors.Is(c.want, ErrUnsupportedCopyMethod) {
			mustContain(t, err.Error(), `"nope"`)
		}
	}
	if got := f.names(); !slices.Equal(got, []string{"pvc/data"}) {
		t.Errorf("objects after failures = %v, want only the source", got)
	}

	// A source being deleted is gone as far as a new copy is concerned.
	g := newFixture(t, false)
	g.pvc("data", "1Gi", func(p *corev1.PersistentVolumeClaim) { p.Finalizers = []string{"test/keep"} })
	if err := env.Client.Delete(g.ctx, g.getPVC("data")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.h.SourceCopy(g.ctx, clone, "data"); !errors.Is(err, ErrSourcePVCNotFound) {
		t.Errorf("source being deleted: %v", err)
	}
	p := g.getPVC("data")
	p.Finalizers = nil
	if err := env.Client.Update(g.ctx, p); err != nil {
		t.Fatal(err)
	}
}

func TestSourceNeverAdopts(t *testing.T) {
	f := newFixture(t, false)
	f.pvc("data", "1Gi")
	user := f.pvc(pitName, "1Gi")
	for _, m := range []v1alpha1.CopyMethodType{v1alpha1.CopyMethodClone, v1alpha1.CopyMethodSnapshot} {
		_, _, err := f.h.SourceCopy(f.ctx, v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: m}, "data")
		if !errors.Is(err, ErrNotOwned) {
			t.Errorf("%s: err = %v, want ErrNotOwned", m, err)
		}
	}
	if got := f.getPVC(pitName); got.ResourceVersion != user.ResourceVersion || len(got.OwnerReferences) != 0 {
		t.Errorf("user PVC modified: %+v", got.ObjectMeta)
	}
	// A user snapshot of the same name is not adopted either.
	g := newFixture(t, false)
	g.pvc("data", "1Gi")
	g.create(&snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: pitName},
		Spec: snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr("data")}}})
	if _, _, err := g.h.SourceCopy(g.ctx, v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot}, "data"); !errors.Is(err, ErrNotOwned) {
		t.Errorf("user snapshot: err = %v, want ErrNotOwned", err)
	}
}

func TestSourceCopyBeingDeletedWaits(t *testing.T) {
	f := newFixture(t, false)
	f.pvc("data", "1Gi")
	opts := v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone}
	if _, _, err := f.h.SourceCopy(f.ctx, opts, "data"); err != nil {
		t.Fatal(err)
	}
	// The PVC protection admission plugin keeps it (no controller removes the finalizer here).
	if err := env.Client.Delete(f.ctx, f.getPVC(pitName)); err != nil {
		t.Fatal(err)
	}
	if p := f.getPVC(pitName); p.DeletionTimestamp == nil {
		t.Skip("PVC deleted at once: no pvc-protection finalizer in this control plane")
	}
	pvc, w, err := f.h.SourceCopy(f.ctx, opts, "data")
	if err != nil || pvc != nil || w == nil {
		t.Fatalf("%v %+v %v, want a wait", pvc, w, err)
	}
	mustContain(t, w.Message, "to be deleted")
	p := f.getPVC(pitName)
	p.Finalizers = nil
	if err := env.Client.Update(f.ctx, p); err != nil {
		t.Fatal(err)
	}
}
