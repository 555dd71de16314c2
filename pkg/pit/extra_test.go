package pit

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestExtraVolume: a cache volume is created once with its size, class and access modes,
// owned by the object, quiet at rest, and follows its cleanup setting both ways.
func TestExtraVolume(t *testing.T) {
	f := newFixture(t, true)
	sc := f.storageClass(true)
	v := ExtraVolume{Name: "volsync-src-owner-cache", Capacity: resource.MustParse("1Gi"), StorageClassName: &sc,
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}
	pvc, w, err := f.h.Extra(f.ctx, v)
	if err != nil || pvc == nil || w != nil {
		t.Fatalf("create: %v %+v %v", pvc, w, err)
	}
	got := f.getPVC(v.Name)
	f.checkOwned(got, false)
	if *got.Spec.StorageClassName != sc || !slices.Equal(got.Spec.AccessModes, v.AccessModes) {
		t.Errorf("spec = %+v", got.Spec)
	}
	if q := got.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(v.Capacity) != 0 {
		t.Errorf("size = %s", q.String())
	}
	if _, _, err := f.h.Extra(f.ctx, v); err != nil {
		t.Fatal(err)
	}
	if f.getPVC(v.Name).ResourceVersion != got.ResourceVersion {
		t.Error("a second call wrote the PVC")
	}
	v.Cleanup = true
	if _, _, err := f.h.Extra(f.ctx, v); err != nil {
		t.Fatal(err)
	}
	f.checkOwned(f.getPVC(v.Name), true)
	v.Cleanup = false
	if _, _, err := f.h.Extra(f.ctx, v); err != nil {
		t.Fatal(err)
	}
	f.checkOwned(f.getPVC(v.Name), false)

	if _, _, err := f.h.Extra(f.ctx, ExtraVolume{Name: "volsync-dst-owner-cache"}); err == nil {
		t.Error("a volume without capacity and access modes must be refused")
	}
}
