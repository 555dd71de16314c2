//go:build e2e

package rclone

import (
	"fmt"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// The fan-out's tree: enough small files that listings and the manifest span many pages and
// the transfers run in parallel, and a large file, without making the suite slow on two cores.
const (
	smallFiles = 1000
	bigMB      = 20
	// treeFiles is how many regular files volume.WriteTree writes besides the small ones:
	// top.txt, deep.txt, big.bin and the two names of the hard-linked file.
	treeFiles = 5
	// changedFiles is how many files volume.ChangeTree modifies or adds: top.txt and
	// added/x/n.txt.
	changedFiles = 2
)

// expectTransferred fails the test unless a side's latest mover run transferred n files.
func expectTransferred(t *testing.T, s side, n int, what string) {
	t.Helper()
	if got := filesTransferred(t, s); got != n {
		t.Errorf("%s, %s: %d files transferred, want %d", kind(s), what, got, n)
	}
}

// fanOut is the main case, rclone's purpose: one source pushes a volume (the mixed tree of
// volume.WriteTree, written by the application's user) to a bucket path, and three
// destinations in three namespaces pull it, each keeping a VolumeSnapshot that restores to the
// source's tree (contents, modes, times, symlinks, empty directories; hard links as separate
// files with the same contents), each side transferring every file once. Then the source changes
// (files modified, added, deleted; directories removed and added) and everything syncs again,
// the source by Clone this time: only the changed files travel, the new images match the
// changed tree, the old images go.
// Deleting the objects removes what VolSync made and leaves the user's volumes.
func fanOut(t *testing.T) {
	srcNS := namespace(t, "fan-src", false, plain)
	want := fill(t, srcNS, fmt.Sprintf("SMALL_FILES=%d BIG_MB=%d ", smallFiles, bigMB))
	plain.CreateBucket(t, "fan-out")
	const path = "fan-out/app/data"
	rs := src{newSource(srcNS, "app", "data", path, v1alpha1.CopyMethodSnapshot, "s1")}
	create(t, rs.ReplicationSource)

	// Destinations are created once the source has written: each pulls what is there.
	var dsts []dst
	for i := range 3 {
		ns := namespace(t, fmt.Sprintf("fan-dst%d", i), false, plain)
		dsts = append(dsts, dst{newDestination(ns, "app", path, "d1")})
	}
	waitSynced(t, rs, "s1")
	expectTransferred(t, rs, smallFiles+treeFiles, "first sync")
	expectJobStarted(t, rs)
	for _, d := range dsts {
		create(t, d.ReplicationDestination)
	}
	first := make([]string, len(dsts))
	for i, d := range dsts {
		waitSynced(t, d, "d1")
		expectTransferred(t, d, smallFiles+treeFiles, "first sync")
		expectJobStarted(t, d)
		img := d.Status.LatestImage
		if img == nil || img.Kind != "VolumeSnapshot" || ptr.Deref(img.APIGroup, "") != snapv1.GroupName {
			t.Fatalf("destination %s/%s: latestImage %+v, want a VolumeSnapshot", d.Namespace, d.Name, img)
		}
		first[i] = img.Name
		expectRestored(t, d.ReplicationDestination, "restore-1", want, "fan-out, first sync")
	}

	// Modify, add and delete; sync again, the source by Clone.
	want = change(t, srcNS)
	scenario.Update(t, rs.ReplicationSource, "source copyMethod Clone", func(o *v1alpha1.ReplicationSource) {
		o.Spec.Rclone.CopyMethod = v1alpha1.CopyMethodClone
	})
	trigger(t, rs, "s2")
	waitSynced(t, rs, "s2")
	// Only what changed travels (rclone compares sizes and times, which the clone keeps).
	expectTransferred(t, rs, changedFiles, "second sync")
	for _, d := range dsts {
		trigger(t, d, "d2")
	}
	for i, d := range dsts {
		waitSynced(t, d, "d2")
		expectTransferred(t, d, changedFiles, "second sync")
		if d.Status.LatestImage == nil || d.Status.LatestImage.Name == first[i] {
			t.Fatalf("destination %s/%s: latestImage %+v after the second sync, the first was %s", d.Namespace, d.Name, d.Status.LatestImage, first[i])
		}
		restored := expectRestored(t, d.ReplicationDestination, "restore-2", want, "fan-out, after changes")
		// The digest covers it; say it plainly: deleted entries are gone, added ones are there.
		volume.Run(t, d.Namespace, restored, "cd /data; test ! -e small/3; test ! -e nested/a/b/c/deep.txt; test ! -e hard-2; "+
			"test ! -e empty-dir; test -d new-empty; grep -qx new added/x/n.txt")
		cluster.WaitGone(t, deleteTimeout, &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: first[i]}})
	}

	sides := []side{rs}
	keep := []client.ObjectKey{{Namespace: srcNS, Name: "data"}}
	for _, d := range dsts {
		sides = append(sides, d)
		keep = append(keep, client.ObjectKey{Namespace: d.Namespace, Name: "restore-1"}, client.ObjectKey{Namespace: d.Namespace, Name: "restore-2"})
	}
	checkCleanup(t, sides, keep...)
}
