//go:build e2e

package restic

import (
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// leftovers checks, on a restore of the changed tree (volume.ChangeTree) over the original one
// without enableFileDeletion, that the changes arrived and that what the change deleted is
// still there.
const leftovers = "set -x; cd /data; grep -q changed top.txt; grep -qx new added/x/n.txt; test -d new-empty; " +
	"test -e nested/a/b/c/deep.txt; test -e hard-2; test -d empty-dir"

// restoreAsOf: with two backups A and B (a retention policy that keeps both), a destination
// restores nothing as of 1980, A as of a time between them, and B as of a time after both; the
// restore of B over A keeps what B deleted, until enableFileDeletion removes it. Each sync
// replaces the destination's image and deletes the old one.
func restoreAsOf(t *testing.T) {
	srcNS, dstNS := s3Case(t, "asof", plain, false)
	wantA := volume.Fill(t, srcNS, "data", "SMALL_FILES=50 BIG_MB=1 ")

	rs := newSource(srcNS, "src", "data", v1alpha1.CopyMethodClone, manual("a"))
	rs.Spec.Restic.Retain = &v1alpha1.ResticRetainPolicy{Last: ptr.To(intstr.FromString("5"))}
	create(t, rs)
	// lastSyncTime is taken (by the cluster's clock, the movers' one) after A's snapshot;
	// B starts seconds later, after the change.
	afterA := backup(t, rs, "a").LastSyncTime.Add(time.Second).Format(time.RFC3339)
	volume.Run(t, srcNS, "data", volume.ChangeTree)
	wantB := volume.Digest(t, srcNS, "data")
	afterB := backup(t, rs, "b").LastSyncTime.Add(time.Second).Format(time.RFC3339)
	expectTempCopyGone(t, rs)

	rd := newDestination(dstNS, "dst", "r1")
	rd.Spec.Restic.RestoreAsOf = ptr.To("1980-08-10T23:59:59-04:00")
	create(t, rd)
	scenario.WaitSynced(t, dst(rd), "r1")
	expectLogs(t, dst(rd), "restoreAsOf 1980", nothingRestored)
	img := expectImage(t, rd, "")
	expectEmpty(t, dstNS, scenario.Restore(t, rd, "restore-1980"), "restoreAsOf 1980")

	restore(t, rd, "r2", func(r *v1alpha1.ReplicationDestinationResticSpec) { r.RestoreAsOf = ptr.To(afterA) }, restoredLogs)
	img = expectImage(t, rd, img)
	scenario.ExpectRestored(t, rd, "restore-a", wantA, "restoreAsOf between A and B")

	restore(t, rd, "r3", func(r *v1alpha1.ReplicationDestinationResticSpec) { r.RestoreAsOf = ptr.To(afterB) }, restoredLogs)
	img = expectImage(t, rd, img)
	volume.Run(t, dstNS, scenario.Restore(t, rd, "restore-b-kept"), leftovers)

	restore(t, rd, "r4", func(r *v1alpha1.ReplicationDestinationResticSpec) { r.EnableFileDeletion = true }, restoredLogs, restoreOptions)
	expectImage(t, rd, img)
	scenario.ExpectRestored(t, rd, "restore-b", wantB, "restoreAsOf after B, enableFileDeletion")
}

// copyTriggerPrevious: a source PVC that asks for copy triggers is not copied (no snapshot)
// until its copy-trigger annotation changes; then the backup completes and the annotations say
// so. A destination with previous: 9999 restores nothing; with previous unset, the backup.
func copyTriggerPrevious(t *testing.T) {
	srcNS, dstNS := s3Case(t, "trigger", plain, false)
	want := volume.Fill(t, srcNS, "data", "SMALL_FILES=50 BIG_MB=1 ")
	scenario.UseCopyTrigger(t, srcNS, "data")

	rs := newSource(srcNS, "src", "data", v1alpha1.CopyMethodSnapshot, manual("b1"))
	create(t, rs)
	ann := scenario.WaitCopyStatus(t, srcNS, "data", v1alpha1.CopyTriggerStatusWaitingForTrigger)
	if v, ok := ann[v1alpha1.LatestCopyTriggerAnnotation]; ok {
		t.Errorf("%s is %q before any copy trigger", v1alpha1.LatestCopyTriggerAnnotation, v)
	}
	snaps := &snapv1.VolumeSnapshotList{}
	cluster.Must(t, cluster.C.List(cluster.Ctx(t, time.Minute), snaps, client.InNamespace(srcNS)))
	if len(snaps.Items) != 0 {
		t.Fatalf("%d VolumeSnapshots taken while waiting for the copy trigger", len(snaps.Items))
	}
	if scenario.Refresh(t, src(rs)); rs.Status != nil && rs.Status.LastManualSync == "b1" {
		t.Fatal("the source synced without its copy trigger")
	}

	scenario.SetCopyTrigger(t, srcNS, "data", "first")
	backup(t, rs, "b1")
	ann = scenario.WaitCopyStatus(t, srcNS, "data", v1alpha1.CopyTriggerStatusCompleted)
	if got := ann[v1alpha1.LatestCopyTriggerAnnotation]; got != "first" {
		t.Errorf("%s is %q, want first", v1alpha1.LatestCopyTriggerAnnotation, got)
	}
	expectTempCopyGone(t, rs)

	rd := newDestination(dstNS, "dst", "r1")
	rd.Spec.Restic.Previous = ptr.To(int32(9999))
	create(t, rd)
	scenario.WaitSynced(t, dst(rd), "r1")
	expectLogs(t, dst(rd), "previous 9999", nothingRestored)
	img := expectImage(t, rd, "")
	expectEmpty(t, dstNS, scenario.Restore(t, rd, "restore-9999"), "previous 9999")

	restore(t, rd, "r2", func(r *v1alpha1.ReplicationDestinationResticSpec) { r.Previous = nil }, restoredLogs)
	expectImage(t, rd, img)
	scenario.ExpectRestored(t, rd, "restore", want, "copy trigger, latest snapshot")
}

// emptyRepository: restoring from a repository that does not exist (its bucket does not
// exist), again with enableFileDeletion, and from a new path of an existing bucket through a
// recreated Secret, and from an empty volume (moverVolumes) succeeds each time, restoring
// nothing, deleting nothing, and creating no repository.
func emptyRepository(t *testing.T) {
	ns := namespace(t, "empty", false)
	s3Repository(t, ns, plain, "no-such-bucket/data")
	create(t, volume.NewPVC(ns, "mine", nil))
	volume.Run(t, ns, "mine", "echo keep > /data/marker.txt")
	expectMarkerOnly := func(what string) {
		t.Helper()
		if out := volume.Run(t, ns, "mine", "ls -A /data | grep -vx lost+found; cat /data/marker.txt"); strings.Join(strings.Fields(out), " ") != "marker.txt keep" {
			t.Fatalf("%s: the destination changed, holds:\n%s", what, out)
		}
	}

	rd := restoreDirect(t, intoPVC(newDestination(ns, "dst", "r1"), "mine"), nothingRestored)
	expectMarkerOnly("missing bucket")

	restore(t, rd, "r2", func(r *v1alpha1.ReplicationDestinationResticSpec) { r.EnableFileDeletion = true }, nothingRestored)
	expectMarkerOnly("missing bucket, enableFileDeletion")

	plain.CreateBucket(t, "empty")
	cluster.Must(t, cluster.C.Delete(cluster.Ctx(t, time.Minute), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: repoSecret}}))
	s3Repository(t, ns, plain, "empty/new/path")
	restore(t, rd, "r3", nil, nothingRestored)
	expectMarkerOnly("new path of an existing bucket")

	// An empty repository volume: nothing restored, and no repository created there.
	create(t, volume.NewPVC(ns, "repo", nil))
	cluster.Must(t, cluster.C.Delete(cluster.Ctx(t, time.Minute), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: repoSecret}}))
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: repoSecret, Namespace: ns}, StringData: pvcRepositoryData})
	restore(t, rd, "r4", func(r *v1alpha1.ReplicationDestinationResticSpec) { r.MoverVolumes = pvcVolume("repo", "repo") }, nothingRestored)
	expectMarkerOnly("empty repository volume")
	expectEmpty(t, ns, "repo", "a restore from an empty repository volume")
}
