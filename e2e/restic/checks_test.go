//go:build e2e

package restic

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// goneTimeout bounds the removal of a synchronization's temporary objects once it completed.
const goneTimeout = 2 * time.Minute

// What latestMoverStatus.logs say (restic's summary lines, matched loosely: the checks that
// count are on the data).
var (
	// backupLogs: a backup that read the volume and saved a snapshot.
	backupLogs = []*regexp.Regexp{
		regexp.MustCompile(`(?i)processed.*files|files:`),
		regexp.MustCompile(`(?i)snapshot .* saved`),
		regexp.MustCompile(`(?i)restic completed in`),
	}
	// restoredLogs: a restore that restored a snapshot.
	restoredLogs = regexp.MustCompile(`(?i)restor`)
	// nothingRestored: a restore that found no snapshot to restore.
	nothingRestored = regexp.MustCompile(`(?i)no data will be restored|no eligible snapshots`)
	// restoreOptions: a restore run with enableFileDeletion's restore options.
	restoreOptions = regexp.MustCompile(`(?i)RESTORE_OPTIONS`)
)

// expectLogs fails the test unless a side's latest mover logs match every pattern.
func expectLogs(t *testing.T, s scenario.Side, what string, patterns ...*regexp.Regexp) {
	t.Helper()
	logs := s.Common().LatestMoverStatus.Logs
	for _, re := range patterns {
		if !re.MatchString(logs) {
			t.Errorf("%s, %s: latestMoverStatus.logs do not match %q:\n%s", scenario.SideName(s), what, re, logs)
		}
		// "No data will be restored" says "restored" too.
		if re == restoredLogs && nothingRestored.MatchString(logs) {
			t.Errorf("%s, %s: latestMoverStatus.logs say nothing was restored:\n%s", scenario.SideName(s), what, logs)
		}
	}
}

// backup triggers a source with value (it may be the trigger it was created with), waits for
// the backup and checks its logs.
func backup(t *testing.T, rs *v1alpha1.ReplicationSource, value string) *v1alpha1.CommonStatus {
	t.Helper()
	if rs.Spec.Trigger == nil || rs.Spec.Trigger.Manual != value {
		scenario.SetManual(t, src(rs), value)
	}
	st := scenario.WaitSynced(t, src(rs), value)
	expectLogs(t, src(rs), "backup "+value, backupLogs...)
	return st
}

// restore triggers a destination with value after applying change to its spec, waits for the
// restore and checks that its logs match patterns.
func restore(t *testing.T, rd *v1alpha1.ReplicationDestination, value string, change func(*v1alpha1.ReplicationDestinationResticSpec), patterns ...*regexp.Regexp) {
	t.Helper()
	scenario.Update(t, rd, "destination "+rd.Name+" restore "+value, func(o *v1alpha1.ReplicationDestination) {
		if change != nil {
			change(o.Spec.Restic)
		}
		o.Spec.Trigger = manual(value)
	})
	scenario.WaitSynced(t, dst(rd), value)
	expectLogs(t, dst(rd), "restore "+value, patterns...)
}

// restoreDirect creates the destination rd (manually triggered with r1), waits for the
// restore, checks that its logs match patterns, and returns it.
func restoreDirect(t *testing.T, rd *v1alpha1.ReplicationDestination, patterns ...*regexp.Regexp) *v1alpha1.ReplicationDestination {
	t.Helper()
	create(t, rd)
	scenario.WaitSynced(t, dst(rd), "r1")
	expectLogs(t, dst(rd), "restore r1", patterns...)
	return rd
}

// expectImage checks that a destination's latestImage is a VolumeSnapshot other than the
// previous one (whose removal it waits for), and returns its name.
func expectImage(t *testing.T, rd *v1alpha1.ReplicationDestination, previous string) string {
	t.Helper()
	img := rd.Status.LatestImage
	if img == nil || img.Kind != "VolumeSnapshot" || ptr.Deref(img.APIGroup, "") != snapv1.GroupName {
		t.Fatalf("destination %s: latestImage %+v, want a VolumeSnapshot", rd.Name, img)
	}
	if previous != "" {
		if img.Name == previous {
			t.Fatalf("destination %s: latestImage still %s after a new sync", rd.Name, previous)
		}
		cluster.WaitGone(t, goneTimeout, &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: previous}})
	}
	return img.Name
}

// expectEmpty fails the test unless the PVC holds nothing (but lost+found).
func expectEmpty(t *testing.T, ns, pvc, what string) {
	t.Helper()
	if out := volume.Run(t, ns, pvc, "ls -A /data | grep -vx lost+found || true"); strings.TrimSpace(out) != "" {
		t.Fatalf("%s: %s/%s should be empty, holds:\n%s", what, ns, pvc, out)
	}
}

// expectDigest fails the test unless the PVC's digest is want.
func expectDigest(t *testing.T, ns, pvc, want, what string) {
	t.Helper()
	if got := volume.Digest(t, ns, pvc); got != want {
		t.Fatalf("%s: %s/%s differs from the source:\nsource   %s\nrestored %s", what, ns, pvc, want, got)
	}
}

// expectPVCs fails the test unless the PVCs exist in ns.
func expectPVCs(t *testing.T, ns string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Namespace: ns, Name: n}, &corev1.PersistentVolumeClaim{}); err != nil {
			t.Errorf("PVC %s/%s: %v", ns, n, err)
		}
	}
}

// waitPVC waits for the PVC to exist (it is made by the controller during a sync).
func waitPVC(t *testing.T, ns, name string) {
	t.Helper()
	ctx := cluster.Ctx(t, scenario.SyncTimeout+time.Minute)
	cluster.Eventually(t, scenario.SyncTimeout, "PVC "+name, func() error {
		return cluster.C.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.PersistentVolumeClaim{})
	})
}

// expectTempCopyGone waits until a source's point-in-time copy (Clone PVC or VolumeSnapshot) is
// gone after a sync.
func expectTempCopyGone(t *testing.T, rs *v1alpha1.ReplicationSource) {
	t.Helper()
	meta := metav1.ObjectMeta{Namespace: rs.Namespace, Name: tempCopy(rs.Name)}
	cluster.WaitGone(t, goneTimeout, &snapv1.VolumeSnapshot{ObjectMeta: meta})
	cluster.WaitGone(t, goneTimeout, &corev1.PersistentVolumeClaim{ObjectMeta: meta})
}

// waitJob waits for a mover Job to exist and returns it.
func waitJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	ctx := cluster.Ctx(t, scenario.SyncTimeout+time.Minute)
	job := &batchv1.Job{}
	cluster.Eventually(t, scenario.SyncTimeout, "mover Job "+name, func() error {
		return cluster.C.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, job)
	})
	return job
}

// expectPinned checks that a Direct mover Job runs on the node of the application pod app,
// which holds the ReadWriteOnce volume.
func expectPinned(t *testing.T, job *batchv1.Job, app *corev1.Pod) {
	t.Helper()
	node := &corev1.Node{}
	cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Name: app.Spec.NodeName}, node))
	want := node.Labels[corev1.LabelHostname]
	if got := job.Spec.Template.Spec.NodeSelector[corev1.LabelHostname]; got != want {
		t.Errorf("Direct mover Job %s not pinned to the application's node %q: nodeSelector %v", job.Name, want, job.Spec.Template.Spec.NodeSelector)
	}
}

// waitMoverLog waits for a running pod of the mover Job job whose log matches re, and returns
// the pod and its log so far.
func waitMoverLog(t *testing.T, ns, job string, re *regexp.Regexp) (*corev1.Pod, string) {
	t.Helper()
	ctx := cluster.Ctx(t, scenario.SyncTimeout+time.Minute)
	var pod *corev1.Pod
	var log string
	cluster.Eventually(t, scenario.SyncTimeout, "a pod of "+job+" logging "+re.String(), func() error {
		pods := &corev1.PodList{}
		if err := cluster.C.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"job-name": job}); err != nil {
			return err
		}
		var seen []string
		for i := range pods.Items {
			p := &pods.Items[i]
			seen = append(seen, p.Name+" "+string(p.Status.Phase))
			if p.Status.Phase != corev1.PodRunning {
				continue
			}
			if log = cluster.Logs(t, ns, p.Name); re.MatchString(log) {
				pod = p
				return nil
			}
		}
		if len(seen) == 0 {
			return errors.New("no pod yet")
		}
		return fmt.Errorf("pods %v; last log:\n%s", seen, log)
	})
	return pod, log
}
