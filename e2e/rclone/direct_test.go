//go:build e2e

package rclone

import (
	"testing"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// directDestination: a destination writes into the user's PVC (destinationPVC, copyMethod
// Direct); its latestImage is that PVC, which holds the source's tree. Deleting both sides
// removes what VolSync made and leaves the user's PVCs on both sides.
func directDestination(t *testing.T) {
	srcNS := namespace(t, "direct-src", false, plain)
	dstNS := namespace(t, "direct-dst", false, plain)
	want := fill(t, srcNS, "SMALL_FILES=50 BIG_MB=1 ")
	plain.CreateBucket(t, "direct")
	const path = "direct/some/deeper/path"

	rs := src{newSource(srcNS, "src", "data", path, v1alpha1.CopyMethodSnapshot, "s1")}
	create(t, rs.ReplicationSource)
	create(t, volume.NewPVC(dstNS, "mine", nil))
	rd := dst{newDestination(dstNS, "dst", path, "d1")}
	opts := &rd.Spec.Rclone.ReplicationDestinationVolumeOptions
	opts.CopyMethod, opts.DestinationPVC, opts.Capacity, opts.AccessModes = v1alpha1.CopyMethodDirect, ptr.To("mine"), nil, nil
	waitSynced(t, rs, "s1")
	create(t, rd.ReplicationDestination)
	waitSynced(t, rd, "d1")

	img := rd.Status.LatestImage
	if img == nil || img.Kind != "PersistentVolumeClaim" || img.Name != "mine" || ptr.Deref(img.APIGroup, "") != "" {
		t.Fatalf("latestImage %+v, want the PVC mine", img)
	}
	if got := volume.DigestSeparateLinks(t, dstNS, "mine"); got != want {
		t.Fatalf("the destination PVC differs from the source:\nsource      %s\ndestination %s", want, got)
	}
	checkCleanup(t, []side{rs, rd}, client.ObjectKey{Namespace: srcNS, Name: "data"}, client.ObjectKey{Namespace: dstNS, Name: "mine"})
}
