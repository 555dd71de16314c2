//go:build e2e

package populator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/s3"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// rsyncTLSMover is rsync over stunnel for the shared helpers (as in e2e/rsynctls).
var rsyncTLSMover = scenario.Mover{Method: "rsync-tls", Controller: "volsync-rsync-tls", Field: "rsyncTLS",
	KeysField: "keySecret", KeyFields: []string{"psk.txt"}, SecretPrefixes: []string{"volsync-rsync-tls-"}}

// tree is the size of the volumes these cases replicate.
const tree = "SMALL_FILES=20 BIG_MB=1 "

// rsyncTLS is the main case, the GitOps restore pattern with rsync-TLS:
//   - a PVC created before its ReplicationDestination waits, saying why, and receives the first
//     synchronization's data;
//   - a population held back (an admission policy refuses its prime PVC) keeps the image it marked
//     alive while a second synchronization replaces it; a PVC created then gets the new data;
//     released, the held population takes the latest image and the replaced one is deleted;
//   - the latest image, labelled do-not-delete, survives its ReplicationDestination.
func rsyncTLS(t *testing.T) {
	srcNS, dstNS := scenario.Namespaces(t, rsyncTLSMover, "populator", false)
	want := volume.Fill(t, srcNS, "data", tree)
	claim(t, dstNS, "restored-1", "dest", "")
	expectEvent(t, dstNS, "restored-1", reasonRDMissing, `ReplicationDestination "dest" not found`)

	p := scenario.NewPair(t, rsyncTLSMover, srcNS, dstNS, "app", "dest",
		v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodSnapshot, &v1alpha1.TriggerSpec{Manual: "first"})
	src, dst := scenario.SourceSide{ReplicationSource: p.RS}, scenario.DestinationSide{ReplicationDestination: p.RD}
	scenario.WaitSynced(t, src, "first")
	scenario.WaitSynced(t, dst, "first")
	first := latestSnapshot(t, p.RD)
	expectPopulated(t, dstNS, "restored-1", want, "first synchronization", volume.Digest)
	expectEvent(t, dstNS, "restored-1", reasonPVCCreated, first)

	// Hold a population back: the API server refuses its prime PVC (of a class of its own).
	class, release := holdPopulation(t, dstNS)
	held := claim(t, dstNS, "held", "dest", class)
	expectEvent(t, dstNS, "held", reasonCreateErr, holdMessage)
	mark := "volsync.backube/volpop-pvc-" + string(held.UID)
	cluster.Eventually(t, time.Minute, "the first image to be marked for the held PVC", func() error {
		if s := snapshot(t, dstNS, first); s == nil || s.Labels[mark] != "held" {
			return fmt.Errorf("snapshot %+v", s)
		}
		return nil
	})

	volume.Run(t, srcNS, "data", volume.ChangeTree)
	want2 := volume.Digest(t, srcNS, "data")
	scenario.SetManual(t, src, "second")
	scenario.SetManual(t, dst, "second")
	scenario.WaitSynced(t, src, "second")
	scenario.WaitSynced(t, dst, "second")
	second := latestSnapshot(t, p.RD)
	if second == first {
		t.Fatalf("latestImage %s unchanged by the second synchronization", second)
	}
	// The destination replaced the first image but left it to the held population.
	cluster.Eventually(t, time.Minute, "the destination to let the first image go", func() error {
		s := snapshot(t, dstNS, first)
		if s == nil {
			return fmt.Errorf("deleted while a population had marked it")
		}
		if len(s.OwnerReferences) != 0 {
			return fmt.Errorf("owners %v", s.OwnerReferences)
		}
		return nil
	})
	claim(t, dstNS, "restored-2", "dest", "")
	expectPopulated(t, dstNS, "restored-2", want2, "second synchronization", volume.Digest)
	if snapshot(t, dstNS, first) == nil {
		t.Fatal("the first image was deleted while a population had marked it")
	}

	release()
	expectPopulated(t, dstNS, "held", want2, "held back, then released", volume.Digest)
	cluster.WaitGone(t, deleteTimeout, &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: dstNS, Name: first}})

	// The user keeps the latest image: it survives its ReplicationDestination.
	scenario.Update(t, snapshot(t, dstNS, second), "label the latest image do-not-delete", func(s *snapv1.VolumeSnapshot) {
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[v1alpha1.DoNotDeleteLabel] = "true"
	})
	cluster.Eventually(t, time.Minute, "the destination to relinquish the kept image", func() error {
		if s := snapshot(t, dstNS, second); s == nil || len(s.OwnerReferences) != 0 {
			return fmt.Errorf("snapshot %+v", s)
		}
		return nil
	})
	cluster.Must(t, cluster.C.Delete(cluster.Ctx(t, time.Minute), p.RD))
	cluster.WaitGone(t, deleteTimeout, p.RD)
	// The garbage collector has taken what the destination owned (its key Secret)...
	cluster.WaitGone(t, deleteTimeout, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: dstNS, Name: "volsync-rsync-tls-dest"}})
	// ...but not the kept image, which still restores.
	if snapshot(t, dstNS, second) == nil {
		t.Fatal("the do-not-delete image went with its ReplicationDestination")
	}
	restored := volume.NewPVC(dstNS, "from-kept", &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapv1.GroupName), Kind: "VolumeSnapshot", Name: second})
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), restored))
	if got := volume.Digest(t, dstNS, "from-kept"); got != want2 {
		t.Fatalf("the kept image restores to %s, want %s", got, want2)
	}
}

// latestSnapshot returns the name of rd's latest image, which must be a VolumeSnapshot.
func latestSnapshot(t *testing.T, rd *v1alpha1.ReplicationDestination) string {
	t.Helper()
	if rd.Status == nil || rd.Status.LatestImage == nil || rd.Status.LatestImage.Kind != "VolumeSnapshot" {
		t.Fatalf("destination %s: latestImage %+v, want a VolumeSnapshot", rd.Name, rd.Status)
	}
	img := rd.Status.LatestImage
	if img.Name == "" {
		t.Fatalf("destination %s: latestImage %+v, want a VolumeSnapshot", rd.Name, img)
	}
	return img.Name
}

// rclone: the same pattern through an object store: a PVC created before its destination is
// filled by the first restore, one created after a second restore gets the new data, and the
// first image goes once the second replaces it.
func rclone(t *testing.T) {
	srv := s3.Deploy(t, "e2e-populator-s3", false)
	srv.WaitReady(t)
	srv.CreateBucket(t, "populate")
	const section, secret, path = "store", "rclone-config", "populate/app"
	ns := cluster.Namespace(t, "e2e-populator-rclone")
	srv.RcloneSecret(t, ns, secret, section)
	volume.Fill(t, ns, "data", tree)
	// Through an object store hard links arrive as separate files.
	want := volume.DigestSeparateLinks(t, ns, "data")
	claim(t, ns, "restored", "dest", "")

	spec := v1alpha1.RcloneSpec{RcloneConfig: ptr.To(secret), RcloneConfigSection: ptr.To(section), RcloneDestPath: ptr.To(path)}
	size := resource.MustParse(volume.Size)
	rd := &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: "dest", Namespace: ns},
		Spec: v1alpha1.ReplicationDestinationSpec{Trigger: &v1alpha1.TriggerSpec{Manual: "restore"},
			Rclone: &v1alpha1.ReplicationDestinationRcloneSpec{
				ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot,
					Capacity: &size, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
				RcloneSpec: spec,
			}},
	}
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: "data", Trigger: &v1alpha1.TriggerSpec{Manual: "backup"},
			Rclone: &v1alpha1.ReplicationSourceRcloneSpec{
				ReplicationSourceVolumeOptions: v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot},
				RcloneSpec:                     spec,
			}},
	}
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), rs))
	scenario.WaitSynced(t, scenario.SourceSide{ReplicationSource: rs}, "backup")
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), rd))
	scenario.WaitSynced(t, scenario.DestinationSide{ReplicationDestination: rd}, "restore")
	img := latestSnapshot(t, rd)
	expectPopulated(t, ns, "restored", want, "rclone restore", volume.DigestSeparateLinks)
	expectEvent(t, ns, "restored", reasonPVCCreated, img)
	// The local cluster has no VolumePopulator CRD: the PVC is told, and populated anyway.
	expectEvent(t, ns, "restored", "VolSyncPopulatorNotRegistered", "VolumePopulator CRD", "populating anyway")
	if notes := cluster.EventNotes(t, ns, "restored")["VolSyncPopulatorReplicationDestinationNoLatestImage"]; len(notes) == 0 ||
		!strings.Contains(notes[0], "waiting") {
		t.Errorf("no event said the PVC waited for the destination's first image: %q", notes)
	}

	// A second backup and restore: a new PVC gets the new data, and the first image, whose
	// PVC is populated, goes.
	volume.Run(t, ns, "data", volume.ChangeTree)
	want2 := volume.DigestSeparateLinks(t, ns, "data")
	src, dst := scenario.SourceSide{ReplicationSource: rs}, scenario.DestinationSide{ReplicationDestination: rd}
	scenario.SetManual(t, src, "backup-2")
	scenario.WaitSynced(t, src, "backup-2")
	scenario.SetManual(t, dst, "restore-2")
	scenario.WaitSynced(t, dst, "restore-2")
	if img2 := latestSnapshot(t, rd); img2 == img {
		t.Fatalf("latestImage %s unchanged by the second restore", img2)
	}
	claim(t, ns, "restored-2", "dest", "")
	expectPopulated(t, ns, "restored-2", want2, "second rclone restore", volume.DigestSeparateLinks)
	cluster.WaitGone(t, deleteTimeout, &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: img}})
}
