package pit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestImageName(t *testing.T) {
	at := time.Date(2026, 11, 21, 7, 8, 9, 0, time.FixedZone("CET", 3600))
	if got, want := ImageName("landing", at), "landing-20261121060809"; got != want {
		t.Errorf("ImageName = %q, want %q (UTC)", got, want)
	}
	fits := strings.Repeat("a", 253-15)
	if got := ImageName(fits, at); got != fits+"-20261121060809" {
		t.Errorf("a name that fits was changed: %q", got)
	}
	for _, long := range []string{
		strings.Repeat("a", 253),
		strings.Repeat("b", 228) + ".-c" + strings.Repeat("d", 20), // the cut lands on ".-"
	} {
		got := ImageName(long, at)
		if len(got) > 253 || len(validation.IsDNS1123Subdomain(got)) != 0 || !strings.HasSuffix(got, "-20261121060809") {
			t.Errorf("ImageName(%d chars) = %q (%d chars): %v", len(long), got, len(got), validation.IsDNS1123Subdomain(got))
		}
	}
	a := ImageName(strings.Repeat("x", 250)+"1", at)
	b := ImageName(strings.Repeat("x", 250)+"2", at)
	if a == b {
		t.Errorf("long names that differ at the end collide: %q", a)
	}
}

func TestCopyCapacity(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	src := func(request, capacity string) *corev1.PersistentVolumeClaim {
		p := &corev1.PersistentVolumeClaim{}
		if request != "" {
			p.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: *q(request)}
		}
		if capacity != "" {
			p.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: *q(capacity)}
		}
		return p
	}
	cases := []struct {
		name                  string
		override, restoreSize *resource.Quantity
		src                   *corev1.PersistentVolumeClaim
		want                  string
	}{
		{"override wins", q("5Gi"), q("3Gi"), src("1Gi", "2Gi"), "5Gi"},
		{"restore size next", nil, q("3Gi"), src("1Gi", "2Gi"), "3Gi"},
		{"zero restore size ignored", nil, q("0"), src("1Gi", "2Gi"), "2Gi"},
		{"capacity before request", nil, nil, src("1Gi", "2Gi"), "2Gi"},
		{"request last", nil, nil, src("1Gi", ""), "1Gi"},
		{"nothing", nil, nil, src("", ""), ""},
	}
	for _, c := range cases {
		got, ok := copyCapacity(c.override, c.restoreSize, c.src)
		if c.want == "" {
			if ok {
				t.Errorf("%s: got %s, want none", c.name, got.String())
			}
			continue
		}
		if !ok || got.Cmp(resource.MustParse(c.want)) != 0 {
			t.Errorf("%s: got %s (%v), want %s", c.name, got.String(), ok, c.want)
		}
	}
}

func TestCopyDefaults(t *testing.T) {
	sc := "src-class"
	src := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: &sc, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
	}}
	if got := copyStorageClass(nil, src); got == nil || *got != sc {
		t.Errorf("storage class default = %v", got)
	}
	empty := ""
	if got := copyStorageClass(&empty, src); got == nil || *got != "" {
		t.Errorf("an empty override must stay empty (no class), got %v", got)
	}
	if got := copyAccessModes(nil, src); len(got) != 1 || got[0] != corev1.ReadWriteOnce {
		t.Errorf("access modes default = %v", got)
	}
	if got := copyAccessModes([]corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, src); got[0] != corev1.ReadWriteMany {
		t.Errorf("access modes override = %v", got)
	}
	if got := volumeModeOr(nil); *got != corev1.PersistentVolumeFilesystem {
		t.Errorf("volume mode default = %v", *got)
	}
}

func TestSnapshotReady(t *testing.T) {
	// Covered against the API server in TestSourceSnapshot; this pins the nil cases.
	if snapshotReady(ptrSnap(nil, nil)) || snapshotReady(ptrSnap(ptr("c"), nil)) ||
		snapshotReady(ptrSnap(ptr("c"), ptr(false))) || snapshotReady(ptrSnap(ptr(""), ptr(true))) ||
		snapshotReady(ptrSnap(nil, ptr(true))) || !snapshotReady(ptrSnap(ptr("c"), ptr(true))) {
		t.Error("snapshotReady must need a bound content AND readyToUse true")
	}
}

func TestIsInvalidInput(t *testing.T) {
	if !IsInvalidInput(fmt.Errorf("x: %w", ErrStorageClassNotFound)) || IsInvalidInput(errors.New("timeout")) {
		t.Error("IsInvalidInput misclassifies")
	}
}

func ptrSnap(bound *string, ready *bool) *snapv1.VolumeSnapshot {
	return &snapv1.VolumeSnapshot{Status: &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: bound, ReadyToUse: ready}}
}
