//go:build e2e

package restic

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// pvcRepositoryData is the repository Secret of a repository on the PVC mounted at /mnt/repo.
var pvcRepositoryData = map[string]string{"RESTIC_REPOSITORY": "/mnt/repo", "RESTIC_PASSWORD": password}

// pvcRepository creates the namespace of a case whose movers keep the repository on the PVC
// repo (mounted through moverVolumes at /mnt/repo, the repository Secret says so), and the PVC.
func pvcRepository(t *testing.T, name string) string {
	t.Helper()
	ns := namespace(t, name, false)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: repoSecret, Namespace: ns}, StringData: pvcRepositoryData})
	create(t, volume.NewPVC(ns, "repo", nil))
	return ns
}

// pvcRepositoryContinuous: the repository lives on a PVC the movers mount through moverVolumes
// (mountPath repo ⇒ /mnt/repo). A source without a trigger, copying Direct while the
// application runs, backs up again and again (lastSyncTime changes); once given a manual
// trigger it stops, and a destination in the same namespace restores from the PVC.
func pvcRepositoryContinuous(t *testing.T) {
	ns := pvcRepository(t, "pvcrepo")
	want := volume.Fill(t, ns, "data", "SMALL_FILES=50 BIG_MB=1 ")
	volume.StartApp(t, ns, "data")

	rs := newSource(ns, "src", "data", v1alpha1.CopyMethodDirect, nil)
	rs.Spec.Restic.MoverVolumes = pvcVolume("repo", "repo")
	create(t, rs)
	ctx := cluster.Ctx(t, 2*scenario.SyncTimeout+time.Minute)
	var seen []time.Time
	synchronizing := false
	cluster.Eventually(t, 2*scenario.SyncTimeout, "two syncs of the source without a trigger", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(rs), rs); err != nil {
			return err
		}
		st := scenario.SourceStatus(rs)
		if c := scenario.Condition(st); c != nil && c.Status == metav1.ConditionTrue {
			synchronizing = true
		}
		if st == nil || st.LastSyncTime == nil {
			return errors.New("no sync yet: " + scenario.Describe(st))
		}
		if last := st.LastSyncTime.Time; len(seen) == 0 || !seen[len(seen)-1].Equal(last) {
			seen = append(seen, last)
			expectLogs(t, src(rs), "continuous backup", backupLogs...)
		}
		if len(seen) < 2 {
			return fmt.Errorf("%d syncs so far (%s)", len(seen), scenario.Describe(st))
		}
		return nil
	})
	if !synchronizing {
		t.Errorf("condition %s never True while syncing continuously", v1alpha1.ConditionSynchronizing)
	}
	t.Logf("syncs at %v", seen)
	// A manual trigger stops it (after the sync under way), so the restore finds the repository
	// unlocked.
	scenario.SetManual(t, src(rs), "stop")
	scenario.WaitSynced(t, src(rs), "stop")

	rd := newDestination(ns, "dst", "r1")
	rd.Spec.Restic.MoverVolumes = pvcVolume("repo", "repo")
	create(t, rd)
	scenario.WaitSynced(t, dst(rd), "r1")
	expectLogs(t, dst(rd), "restore r1", restoredLogs)
	expectImage(t, rd, "")
	scenario.ExpectRestored(t, rd, "restore", want, "repository on a PVC")
	expectPVCs(t, ns, cachePVC(scenario.Source, rs.Name), cachePVC(scenario.Destination, rd.Name))
}

// certificateError: what a mover that does not trust the server's certificate reports.
var certificateError = regexp.MustCompile(`(?i)certificate|x509|tls`)

// customCA: against the HTTPS server, whose certificate a private CA signed, a source without
// customCA fails, saying why; with the CA from a Secret it backs up, and a destination
// trusting it from a ConfigMap restores. Then the other way round after a change.
func customCA(t *testing.T) {
	srcNS, dstNS := s3Case(t, "custom-ca", secure, false)
	srcSecret, srcConfigMap := secure.CustomCASources(t, srcNS)
	dstSecret, dstConfigMap := secure.CustomCASources(t, dstNS)
	want := volume.Fill(t, srcNS, "data", "SMALL_FILES=50 BIG_MB=1 ")

	rs := newSource(srcNS, "src", "data", v1alpha1.CopyMethodClone, manual("b1"))
	create(t, rs)
	scenario.WaitFailed(t, src(rs), func(c *metav1.Condition) error {
		if !certificateError.MatchString(c.Message) && !certificateError.MatchString(rs.Status.LatestMoverStatus.Logs) {
			return fmt.Errorf("neither the condition nor the logs mention the certificate: %s", scenario.Describe(scenario.SourceStatus(rs)))
		}
		return nil
	})

	scenario.Update(t, rs, "source customCA from the Secret", func(o *v1alpha1.ReplicationSource) { o.Spec.Restic.CustomCA = srcSecret })
	backup(t, rs, "b2")
	rd := newDestination(dstNS, "dst", "r1")
	rd.Spec.Restic.CustomCA = dstConfigMap
	create(t, rd)
	scenario.WaitSynced(t, dst(rd), "r1")
	expectLogs(t, dst(rd), "restore r1", restoredLogs)
	img := expectImage(t, rd, "")
	scenario.ExpectRestored(t, rd, "restore-1", want, "customCA: source Secret, destination ConfigMap")

	volume.Run(t, srcNS, "data", "cd /data; echo changed >> top.txt; mkdir -p added; echo new > added/n.txt")
	want = volume.Digest(t, srcNS, "data")
	scenario.Update(t, rs, "source customCA from the ConfigMap", func(o *v1alpha1.ReplicationSource) { o.Spec.Restic.CustomCA = srcConfigMap })
	backup(t, rs, "b3")
	restore(t, rd, "r2", func(r *v1alpha1.ReplicationDestinationResticSpec) { r.CustomCA = dstSecret }, restoredLogs)
	expectImage(t, rd, img)
	scenario.ExpectRestored(t, rd, "restore-2", want, "customCA: source ConfigMap, destination Secret")
}
