//go:build e2e

package replication

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func destination(ns, name string, method v1alpha1.CopyMethodType, trig *v1alpha1.TriggerSpec) *v1alpha1.ReplicationDestination {
	size := resource.MustParse(volumeSize)
	return &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationDestinationSpec{Trigger: trig, RsyncTLS: &v1alpha1.ReplicationDestinationRsyncTLSSpec{
			ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{
				CopyMethod: method, Capacity: &size, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			},
		}},
	}
}

func source(ns, name, pvc, addr, key string, method v1alpha1.CopyMethodType, trig *v1alpha1.TriggerSpec) *v1alpha1.ReplicationSource {
	return &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: pvc, Trigger: trig, RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{
			ReplicationSourceVolumeOptions: v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: method},
			Address:                        &addr, KeySecret: &key,
		}},
	}
}

// sourceVolume creates the application's PVC and fills it.
func sourceVolume(t *testing.T, ns, name, env string) string {
	t.Helper()
	must(t, c.Create(ctxT(t, time.Minute), newPVC(ns, name, nil)))
	runPod(t, ns, name, env+writeTree)
	return treeDigest(t, ns, name)
}

func setMethod(t *testing.T, rs *v1alpha1.ReplicationSource, m v1alpha1.CopyMethodType) {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	eventually(t, time.Minute, "copyMethod "+string(m), func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(rs), rs); err != nil {
			return err
		}
		rs.Spec.RsyncTLS.CopyMethod = m
		return c.Update(ctx, rs)
	})
}

// TestReplication (the default path: unprivileged movers in namespaces enforcing the restricted
// Pod Security Standard, data written by the application's user) replicates a mixed tree between
// two namespaces with every source copy method, checks the restored data bit for bit, propagates changes and deletions, and
// checks that deleting the objects removes what they created.
func TestReplication(t *testing.T) {
	t.Parallel()
	srcNS, dstNS := namespace(t, "e2e-src"), namespace(t, "e2e-dst")
	want := sourceVolume(t, srcNS, "data", "")

	rd := destination(dstNS, "backup", v1alpha1.CopyMethodSnapshot, &v1alpha1.TriggerSpec{Manual: "m1"})
	must(t, c.Create(ctxT(t, time.Minute), rd))
	addr, key := waitDestinationReady(t, rd)
	if key != "volsync-rsync-tls-backup" {
		t.Fatalf("generated key Secret %q", key)
	}
	copySecret(t, dstNS, key, srcNS)
	rs := source(srcNS, "app", "data", addr, key, v1alpha1.CopyMethodClone, &v1alpha1.TriggerSpec{Manual: "m1"})
	must(t, c.Create(ctxT(t, time.Minute), rs))

	waitManual(t, rs, rd, "m1")
	if got := treeDigest(t, dstNS, restore(t, rd, "restore-1")); got != want {
		t.Fatalf("restored tree (Clone) differs:\nsource   %s\nrestored %s", want, got)
	}
	if ms := rs.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultSuccessful {
		t.Fatalf("source latestMoverStatus: %+v", ms)
	}

	// Change, delete and add files; sync with a Snapshot copy.
	runPod(t, srcNS, "data", `cd /data; echo changed >> top.txt; rm -rf small/3 nested/a/b/c/deep.txt hard-2; mkdir -p added/x; echo new > added/x/n.txt; rmdir empty-dir; mkdir new-empty`)
	want = treeDigest(t, srcNS, "data")
	setMethod(t, rs, v1alpha1.CopyMethodSnapshot)
	trigger(t, rd, "m2")
	trigger(t, rs, "m2")
	waitManual(t, rs, rd, "m2")
	if got := treeDigest(t, dstNS, restore(t, rd, "restore-2")); got != want {
		t.Fatalf("restored tree (Snapshot, after changes) differs:\nsource   %s\nrestored %s", want, got)
	}

	// Direct, while the application runs: the mover must share the node of the app's RWO volume.
	app := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: srcNS},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: image, Command: []string{"/bin/sh", "-c", "sleep 100000"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
			TerminationGracePeriodSeconds: ptr.To(int64(0)),
		},
	}
	restrictedPod(&app.Spec, appUID, appGID)
	must(t, c.Create(ctxT(t, time.Minute), app))
	eventually(t, podTimeout, "app running", func() error {
		must(t, c.Get(ctxT(t, time.Minute), client.ObjectKeyFromObject(app), app))
		if app.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s", app.Status.Phase)
		}
		return nil
	})
	setMethod(t, rs, v1alpha1.CopyMethodDirect)
	trigger(t, rd, "m3")
	trigger(t, rs, "m3")
	job := &batchv1.Job{}
	eventually(t, syncTimeout, "Direct mover Job", func() error {
		return c.Get(ctxT(t, time.Minute), client.ObjectKey{Namespace: srcNS, Name: "volsync-rsync-tls-src-app"}, job)
	})
	if job.Spec.Template.Spec.NodeSelector[corev1.LabelHostname] == "" {
		t.Fatalf("Direct mover not pinned to the app's node: %v", job.Spec.Template.Spec.NodeSelector)
	}
	waitManual(t, rs, rd, "m3")
	if got := treeDigest(t, dstNS, restore(t, rd, "restore-3")); got != want {
		t.Fatalf("restored tree (Direct) differs:\nsource   %s\nrestored %s", want, got)
	}

	// Only the latest image and the user's restores remain; temporaries are gone.
	snaps := &snapv1.VolumeSnapshotList{}
	must(t, c.List(ctxT(t, time.Minute), snaps, client.InNamespace(dstNS)))
	if len(snaps.Items) != 1 || snaps.Items[0].Name != rd.Status.LatestImage.Name {
		t.Errorf("destination snapshots: want only the latest image %s, got %d", rd.Status.LatestImage.Name, len(snaps.Items))
	}
	checkDeletion(t, rs, rd)
}

// checkDeletion deletes both objects and checks that what they created goes with them while
// user-provided objects stay.
func checkDeletion(t *testing.T, rs *v1alpha1.ReplicationSource, rd *v1alpha1.ReplicationDestination) {
	t.Helper()
	ctx := ctxT(t, deleteTimeout)
	must(t, c.Delete(ctx, rs))
	must(t, c.Delete(ctx, rd))
	gone := []client.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: "volsync-rsync-tls-dst-" + rd.Name}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: "volsync-rsync-tls-" + rd.Name}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: "volsync-" + rd.Name + "-dst"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: "volsync-rsync-tls-dst-" + rd.Name}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: rs.Namespace, Name: "volsync-rsync-tls-src-" + rs.Name}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: rs.Namespace, Name: "volsync-" + rs.Name + "-src"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: rs.Namespace, Name: "volsync-src-" + rs.Name}},
	}
	for _, o := range gone {
		eventually(t, deleteTimeout, fmt.Sprintf("%T %s deleted", o, o.GetName()), func() error {
			err := c.Get(ctx, client.ObjectKeyFromObject(o), o)
			if notFound(err) {
				return nil
			}
			return fmt.Errorf("still there (err %w)", err)
		})
	}
	// The user's source PVC and copied key stay.
	must(t, c.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: rs.Spec.SourcePVC}, &corev1.PersistentVolumeClaim{}))
	must(t, c.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: *rs.Spec.RsyncTLS.KeySecret}, &corev1.Secret{}))
}

// pregeneratedKey returns a PSK Secret a GitOps repository would hold.
func pregeneratedKey(t *testing.T, ns, name string, identity string) {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	psk := identity + ":" + hex.EncodeToString(b)
	must(t, c.Create(ctxT(t, time.Minute), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		StringData: map[string]string{"psk.txt": psk}}))
}

// TestPreSharedKeyAndWrongKey: a key provided on both sides (GitOps) works; a wrong key on the
// source is reported clearly and in bounded time, leaks nothing, and recovers once fixed.
func TestPreSharedKeyAndWrongKey(t *testing.T) {
	t.Parallel()
	srcNS, dstNS := namespace(t, "e2e-psk-src"), namespace(t, "e2e-psk-dst")
	want := sourceVolume(t, srcNS, "data", "SMALL_FILES=50 BIG_MB=1 ")
	pregeneratedKey(t, dstNS, "gitops-key", "gitops")
	copySecret(t, dstNS, "gitops-key", srcNS)

	rd := destination(dstNS, "dst", v1alpha1.CopyMethodSnapshot, &v1alpha1.TriggerSpec{Manual: "k1"})
	rd.Spec.RsyncTLS.KeySecret = ptr.To("gitops-key")
	must(t, c.Create(ctxT(t, time.Minute), rd))
	addr, generated := waitDestinationReady(t, rd)
	if generated != "" {
		t.Fatalf("a key was generated although keySecret is set: %s", generated)
	}
	rs := source(srcNS, "src", "data", addr, "gitops-key", v1alpha1.CopyMethodClone, &v1alpha1.TriggerSpec{Manual: "k1"})
	must(t, c.Create(ctxT(t, time.Minute), rs))
	waitManual(t, rs, rd, "k1")
	if got := treeDigest(t, dstNS, restore(t, rd, "restore")); got != want {
		t.Fatalf("restored tree differs:\nsource   %s\nrestored %s", want, got)
	}

	// A wrong key on the source.
	ctx := ctxT(t, errorTimeout)
	wrong := &corev1.Secret{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: srcNS, Name: "gitops-key"}, wrong))
	good := wrong.Data["psk.txt"]
	wrong.Data["psk.txt"] = []byte("gitops:" + strings.Repeat("0", 64))
	must(t, c.Update(ctx, wrong))
	trigger(t, rd, "k2")
	trigger(t, rs, "k2")
	eventually(t, errorTimeout, "source reports the key problem", func() error {
		must(t, c.Get(ctx, client.ObjectKeyFromObject(rs), rs))
		cond := condition(&rs.Status.CommonStatus)
		if cond == nil || cond.Reason != v1alpha1.SynchronizingReasonError {
			return fmt.Errorf("condition: %s", describe(rsCommon(rs)))
		}
		if rs.Status.LatestMoverStatus == nil || rs.Status.LatestMoverStatus.Result != v1alpha1.MoverResultFailed {
			return fmt.Errorf("latestMoverStatus: %+v", rs.Status.LatestMoverStatus)
		}
		if len(eventsOf(t, srcNS, "src")["TransferFailed"]) == 0 {
			return errors.New("no TransferFailed event")
		}
		return nil
	})
	t.Logf("reported: %s", describe(rsCommon(rs)))
	// Nothing leaks while failing: one Job per side, one copy of the source.
	jobs := &batchv1.JobList{}
	must(t, c.List(ctx, jobs, client.InNamespace(srcNS)))
	pvcs := &corev1.PersistentVolumeClaimList{}
	must(t, c.List(ctx, pvcs, client.InNamespace(srcNS)))
	if len(jobs.Items) != 1 || len(pvcs.Items) != 2 {
		t.Fatalf("while failing: %d Jobs and %d PVCs in the source namespace, want 1 and 2", len(jobs.Items), len(pvcs.Items))
	}
	// Fix the key: the source recovers by itself.
	must(t, c.Get(ctx, client.ObjectKeyFromObject(wrong), wrong))
	wrong.Data["psk.txt"] = good
	must(t, c.Update(ctx, wrong))
	waitManual(t, rs, rd, "k2")
}

// TestScheduleAndMetrics: a scheduled pair syncs twice in a row, nextSyncTime advances, and
// the controller's metrics show it.
func TestScheduleAndMetrics(t *testing.T) {
	t.Parallel()
	srcNS, dstNS := namespace(t, "e2e-sched-src"), namespace(t, "e2e-sched-dst")
	sourceVolume(t, srcNS, "data", "SMALL_FILES=20 BIG_MB=1 ")
	every := &v1alpha1.TriggerSpec{Schedule: ptr.To("*/1 * * * *")}
	rs, _ := pair(t, srcNS, dstNS, v1alpha1.CopyMethodDirect, v1alpha1.CopyMethodClone, every)

	ctx := ctxT(t, 3*syncTimeout)
	var seen []time.Time
	var nexts []time.Time
	eventually(t, 3*syncTimeout, "two scheduled syncs", func() error {
		must(t, c.Get(ctx, client.ObjectKeyFromObject(rs), rs))
		if rs.Status == nil || rs.Status.LastSyncTime == nil {
			return errors.New("no sync yet")
		}
		last := rs.Status.LastSyncTime.Time
		if len(seen) == 0 || !seen[len(seen)-1].Equal(last) {
			seen = append(seen, last)
			if rs.Status.NextSyncTime != nil {
				nexts = append(nexts, rs.Status.NextSyncTime.Time)
			}
		}
		if len(seen) < 3 { // the first sync runs at creation, then two scheduled ones
			return fmt.Errorf("%d syncs so far (%s)", len(seen), describe(rsCommon(rs)))
		}
		return nil
	})
	if len(nexts) < 2 || !nexts[len(nexts)-1].After(nexts[0]) {
		t.Fatalf("nextSyncTime did not advance: %v", nexts)
	}
	out := runPod(t, srcNS, "data", "wget -qO- http://"+metricsService+"."+controllerNS+".svc:8080/metrics | grep '^volsync_' || true")
	series := fmt.Sprintf(`obj_name="src",obj_namespace="%s",role="source"`, srcNS)
	var count, outOfSync string
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, series) {
			continue
		}
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "volsync_sync_duration_seconds_count"):
			count = f[len(f)-1]
		case strings.HasPrefix(l, "volsync_volume_out_of_sync"):
			outOfSync = f[len(f)-1]
		}
	}
	if count == "" || count == "0" || outOfSync != "0" {
		t.Fatalf("metrics for the source: duration count %q, out_of_sync %q\n%s", count, outOfSync, out)
	}
}

// TestControllerRestartMidSync: deleting the controller pod during a sync neither stops the
// sync nor starts a second Job. Not parallel: the other tests run once it is done, so the
// restart it causes does not change what they measure.
func TestControllerRestartMidSync(t *testing.T) {
	srcNS, dstNS := namespace(t, "e2e-restart-src"), namespace(t, "e2e-restart-dst")
	want := sourceVolume(t, srcNS, "data", "SMALL_FILES=2000 BIG_MB=200 ")
	rs, rd := pair(t, srcNS, dstNS, v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodClone, &v1alpha1.TriggerSpec{Manual: "r1"})

	ctx := ctxT(t, syncTimeout)
	job := &batchv1.Job{}
	eventually(t, syncTimeout, "source Job", func() error {
		return c.Get(ctx, client.ObjectKey{Namespace: srcNS, Name: "volsync-rsync-tls-src-src"}, job)
	})
	uid := job.UID
	pods := &corev1.PodList{}
	must(t, c.List(ctx, pods, client.InNamespace(controllerNS), client.MatchingLabels{"app.kubernetes.io/name": controllerName}))
	for i := range pods.Items {
		must(t, c.Delete(ctx, &pods.Items[i]))
	}
	waitManual(t, rs, rd, "r1")
	// The sync used the Job that was running when the controller went away.
	evs := eventsOf(t, srcNS, "src")["TransferStarted"]
	if len(evs) != 1 {
		t.Fatalf("want exactly one source Job started, events: %v (first Job %s)", evs, uid)
	}
	if got := treeDigest(t, dstNS, restore(t, rd, "restore")); got != want {
		t.Fatalf("restored tree differs:\nsource   %s\nrestored %s", want, got)
	}
}
