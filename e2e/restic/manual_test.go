//go:build e2e

package restic

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// backupDirectRestore is the main path: a manual backup (Snapshot copy, a retention policy, a
// prune interval) of the application's volume, then a manual restore straight into the
// destination application's volume (Direct, ReadWriteOnce, in use by the application: the
// mover must run on its node). The data match; the temporary snapshot goes, both cache volumes
// stay (cleanupCachePVC is off), no prune runs before its interval. Then, with
// enableFileDeletion, a restore removes what the destination holds beyond the backup.
func backupDirectRestore(t *testing.T) {
	srcNS, dstNS := s3Case(t, "manual", plain, false)
	want := volume.Fill(t, srcNS, "data", "SMALL_FILES=300 BIG_MB=5 ")

	rs := newSource(srcNS, "src", "data", v1alpha1.CopyMethodSnapshot, manual("b1"))
	rs.Spec.Restic.PruneIntervalDays = ptr.To(int32(1))
	rs.Spec.Restic.Retain = &v1alpha1.ResticRetainPolicy{Hourly: ptr.To(int32(2)), Daily: ptr.To(int32(3)), Last: ptr.To(intstr.FromInt32(4))}
	create(t, rs)
	create(t, volume.NewPVC(dstNS, "mine", nil))
	app := volume.StartApp(t, dstNS, "mine")

	backup(t, rs, "b1")
	if r := rs.Status.Restic; r != nil && r.LastPruned != nil {
		t.Errorf("lastPruned %v after the first backup, within pruneIntervalDays of the source's creation", r.LastPruned)
	}
	expectTempCopyGone(t, rs)
	expectPVCs(t, srcNS, cachePVC(scenario.Source, rs.Name))

	rd := intoPVC(newDestination(dstNS, "dst", "r1"), "mine")
	create(t, rd)
	expectPinned(t, waitJob(t, dstNS, jobName(scenario.Destination, rd.Name)), app)
	scenario.WaitSynced(t, dst(rd), "r1")
	expectLogs(t, dst(rd), "restore r1", restoredLogs)
	if img := rd.Status.LatestImage; img == nil || img.Kind != "PersistentVolumeClaim" || img.Name != "mine" {
		t.Fatalf("latestImage %+v, want the PVC mine", img)
	}
	expectDigest(t, dstNS, "mine", want, "Direct restore")
	expectPVCs(t, dstNS, cachePVC(scenario.Destination, rd.Name))

	// Files the backup lacks stay without enableFileDeletion (RestoreAsOf checks it); with it,
	// they go. The application writes them where the unprivileged mover (another user) may
	// delete them: the volume's root and directories open to all.
	volume.Run(t, dstNS, "mine", "cd /data; echo extra > extra.txt; mkdir -p extra-dir/x; chmod -R 777 extra-dir; echo y > extra-dir/x/y")
	restore(t, rd, "r2", func(r *v1alpha1.ReplicationDestinationResticSpec) { r.EnableFileDeletion = true }, restoredLogs, restoreOptions)
	expectDigest(t, dstNS, "mine", want, "restore with enableFileDeletion")
	expectPVCs(t, dstNS, cachePVC(scenario.Destination, rd.Name))
}

// cleanupLongNames: a source and a destination whose names are longer than 63 characters (the
// Jobs get the reference's shortened names) back up and restore; the destination, with
// cleanupTempPVC and cleanupCachePVC, deletes its provisioned volume and its cache volume after
// the sync, and its latestImage snapshot still restores the data. Restoring again without them
// keeps both volumes.
func cleanupLongNames(t *testing.T) {
	const (
		rsName = "a-restic-replication-source-whose-name-is-longer-than-sixty-three-chars"
		rdName = "a-restic-replication-destination-whose-name-is-longer-than-sixty-three"
	)
	for _, n := range []string{rsName, rdName} {
		if len(n) <= 63 || jobName(scenario.Source, n) == "volsync-src-"+n {
			t.Fatalf("test setup: %q would not be shortened", n)
		}
	}
	srcNS, dstNS := s3Case(t, "long", plain, false)
	want := volume.Fill(t, srcNS, "data", "SMALL_FILES=50 BIG_MB=1 ")

	rs := newSource(srcNS, rsName, "data", v1alpha1.CopyMethodSnapshot, manual("b1"))
	create(t, rs)
	backup(t, rs, "b1")
	scenario.ExpectJobStarted(t, srcNS, rsName, jobName(scenario.Source, rsName))
	expectTempCopyGone(t, rs)

	rd := newDestination(dstNS, rdName, "r1")
	rd.Spec.Restic.CleanupTempPVC, rd.Spec.Restic.CleanupCachePVC = true, true
	create(t, rd)
	// Both volumes exist during the sync, and go after it.
	dest, cache := destPVC(rdName), cachePVC(scenario.Destination, rdName)
	waitPVC(t, dstNS, dest)
	waitPVC(t, dstNS, cache)
	scenario.WaitSynced(t, dst(rd), "r1")
	expectLogs(t, dst(rd), "restore r1", restoredLogs)
	scenario.ExpectJobStarted(t, dstNS, rdName, jobName(scenario.Destination, rdName))
	for _, n := range []string{dest, cache} {
		cluster.WaitGone(t, goneTimeout, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: dstNS, Name: n}})
	}
	first := expectImage(t, rd, "")
	scenario.ExpectRestored(t, rd, "restore-1", want, "cleanupTempPVC, long names")

	restore(t, rd, "r2", func(r *v1alpha1.ReplicationDestinationResticSpec) {
		r.CleanupTempPVC, r.CleanupCachePVC = false, false
	}, restoredLogs)
	expectPVCs(t, dstNS, dest, cache)
	expectImage(t, rd, first)
	scenario.ExpectRestored(t, rd, "restore-2", want, "without cleanup, long names")
}
