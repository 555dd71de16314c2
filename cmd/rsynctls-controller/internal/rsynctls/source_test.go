package rsynctls

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/trigger"
)

func newSource(ns, name, pvc string, method v1alpha1.CopyMethodType, trigger *v1alpha1.TriggerSpec) *v1alpha1.ReplicationSource {
	return &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationSourceSpec{
			SourcePVC: pvc,
			Trigger:   trigger,
			RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{
				ReplicationSourceVolumeOptions: v1alpha1.ReplicationSourceVolumeOptions{
					CopyMethod: method, VolumeSnapshotClassName: ptr.To(snapClass),
				},
				Address: ptr.To("dest.example.com"),
			},
		},
	}
}

// TestSourceClone follows a Clone source through one manual sync.
func TestSourceClone(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	// Status times are stored with second precision: start on a whole second.
	clk.SetTime(clk.Now().Truncate(time.Second))
	sourcePVC(t, ns, "data")
	rs := newSource(ns, "src", "data", v1alpha1.CopyMethodClone, &v1alpha1.TriggerSpec{Manual: "go"})
	must(t, k8s.Create(ctx, rs))

	clone := &corev1.PersistentVolumeClaim{}
	eventually(t, "clone PVC", func() error { return get(ctx, ns, "volsync-src-src", clone) })
	if clone.Spec.DataSource == nil || clone.Spec.DataSource.Kind != "PersistentVolumeClaim" || clone.Spec.DataSource.Name != "data" ||
		clone.Labels[v1alpha1.CleanupLabel] != string(rs.UID) || !metav1.IsControlledBy(clone, rs) {
		t.Fatalf("clone PVC: %+v %+v", clone.ObjectMeta, clone.Spec.DataSource)
	}
	job := waitJob(t, ns, "volsync-rsync-tls-src-src")
	c := job.Spec.Template.Spec.Containers[0]
	if c.Args[0] != "client" || job.Spec.Template.Spec.Volumes[1].PersistentVolumeClaim.ClaimName != "volsync-src-src" {
		t.Fatalf("client Job: %+v %+v", c, job.Spec.Template.Spec.Volumes)
	}
	envs := map[string]string{}
	for _, e := range c.Env {
		envs[e.Name] = e.Value
	}
	if envs["DESTINATION_ADDRESS"] != "dest.example.com" || envs["DESTINATION_PORT"] != "8000" || envs["PRIVILEGED_MOVER"] != "0" {
		t.Fatalf("env: %v", envs)
	}
	if sc := c.SecurityContext; *sc.ReadOnlyRootFilesystem != true || sc.Capabilities.Drop[0] != "ALL" {
		t.Fatalf("security context: %+v", sc)
	}
	eventually(t, "generated key in status", func() error {
		must(t, get(ctx, ns, "src", rs))
		if rs.Status == nil || rs.Status.RsyncTLS == nil || rs.Status.RsyncTLS.KeySecret == nil || *rs.Status.RsyncTLS.KeySecret != "volsync-rsync-tls-src" {
			return fmt.Errorf("status: %+v", rs.Status)
		}
		return nil
	})
	waitEvent(t, ns, "src", "TransferStarted", "to transmit data")
	if v := metricValue(t, "volsync_volume_out_of_sync", series("src", ns, "source")); v != 1 {
		t.Errorf("out_of_sync before the first sync = %v, want 1", v)
	}

	clk.Step(90 * time.Second)
	succeed(t, ns, job.Name)
	eventually(t, "sync done", func() error {
		must(t, get(ctx, ns, "src", rs))
		st := rs.Status
		if st.LastSyncTime == nil || st.LastManualSync != "go" || st.LastSyncDuration == nil || st.LastSyncDuration.Duration != 90*time.Second {
			return fmt.Errorf("status: %+v", st)
		}
		if c := condition(&st.CommonStatus); c.Reason != v1alpha1.SynchronizingReasonManual || c.Message != "Waiting for manual trigger" {
			return fmt.Errorf("condition: %+v", c)
		}
		return nil
	})
	eventually(t, "clone and Job cleaned up", func() error {
		if err := get(ctx, ns, "volsync-src-src", &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("clone: %w", err)
		}
		if err := get(ctx, ns, job.Name, &batchv1.Job{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("job: %w", err)
		}
		return nil
	})
	if err := get(ctx, ns, "data", &corev1.PersistentVolumeClaim{}); err != nil {
		t.Fatalf("the source PVC must stay: %v", err)
	}
	waitEvent(t, ns, "src", "SynchronizationCompleted", "1m30s")
}

// TestSourceSnapshot: the PVC is restored from the snapshot only once it is bound and ready.
func TestSourceSnapshot(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	rs := newSource(ns, "snap", "data", v1alpha1.CopyMethodSnapshot, nil)
	must(t, k8s.Create(ctx, rs))
	snap := &snapv1.VolumeSnapshot{}
	eventually(t, "snapshot", func() error { return get(ctx, ns, "volsync-snap-src", snap) })
	if *snap.Spec.Source.PersistentVolumeClaimName != "data" || *snap.Spec.VolumeSnapshotClassName != snapClass {
		t.Fatalf("snapshot spec: %+v", snap.Spec)
	}
	// Bound but not yet ready: no PVC may be made from it (the reference raced here).
	eventually(t, "snapshot bound, not ready", func() error {
		if err := get(ctx, ns, "volsync-snap-src", snap); err != nil {
			return err
		}
		snap.Status = &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To("content"), ReadyToUse: ptr.To(false)}
		return k8s.Status().Update(ctx, snap)
	})
	poke(t, rs)
	if err := get(ctx, ns, "volsync-snap-src", &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a PVC was restored from a snapshot that is not ready: %v", err)
	}
	readySnapshot(t, ns, "volsync-snap-src")
	restored := &corev1.PersistentVolumeClaim{}
	eventually(t, "restored PVC", func() error { return get(ctx, ns, "volsync-snap-src", restored) })
	if restored.Spec.DataSource == nil || restored.Spec.DataSource.Kind != "VolumeSnapshot" || *restored.Spec.DataSource.APIGroup != snapv1.GroupName {
		t.Fatalf("restored PVC data source: %+v", restored.Spec.DataSource)
	}
	waitJob(t, ns, "volsync-rsync-tls-src-snap")
}

// TestSourceDirectCoSchedules pins the mover next to the application pod of an RWO volume.
func TestSourceDirectCoSchedules(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	runningApp(t, ns, "data", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists})

	rs := newSource(ns, "direct", "data", v1alpha1.CopyMethodDirect, nil)
	must(t, k8s.Create(ctx, rs))
	job := waitJob(t, ns, "volsync-rsync-tls-src-direct")
	spec := job.Spec.Template.Spec
	if spec.NodeSelector["kubernetes.io/hostname"] != "host-"+ns || len(spec.Tolerations) == 0 || spec.Tolerations[0].Key != "dedicated" {
		t.Fatalf("mover not co-scheduled: %v %v", spec.NodeSelector, spec.Tolerations)
	}
	if spec.Volumes[1].PersistentVolumeClaim.ClaimName != "data" {
		t.Fatalf("Direct must mount the source itself: %+v", spec.Volumes)
	}
	// No point-in-time copy is made.
	if err := get(ctx, ns, "volsync-direct-src", &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Direct made a copy: %v", err)
	}
}

// TestMoverVolumePlacesMover: with nothing else placing the mover (Direct on a volume no pod
// uses), it runs next to the users of its first PVC moverVolume, as in the reference.
func TestMoverVolumePlacesMover(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	sourcePVC(t, ns, "extra")
	runningApp(t, ns, "extra")

	rs := newSource(ns, "withvol", "data", v1alpha1.CopyMethodDirect, nil)
	rs.Spec.RsyncTLS.MoverVolumes = []v1alpha1.MoverVolume{{MountPath: "extra", VolumeSource: v1alpha1.MoverVolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "extra"}}}}
	must(t, k8s.Create(ctx, rs))
	job := waitJob(t, ns, "volsync-rsync-tls-src-withvol")
	if got := job.Spec.Template.Spec.NodeSelector["kubernetes.io/hostname"]; got != "host-"+ns {
		t.Fatalf("mover not placed with its moverVolume's users: nodeSelector %v", job.Spec.Template.Spec.NodeSelector)
	}
}

// runningApp creates a Node labelled kubernetes.io/hostname=host-<ns> and a running
// application pod on it that uses claim.
func runningApp(t *testing.T, ns, claim string, tolerations ...corev1.Toleration) {
	t.Helper()
	ctx := ctxT(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + ns, Labels: map[string]string{"kubernetes.io/hostname": "host-" + ns}}}
	must(t, k8s.Create(ctx, node))
	app := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName:    node.Name,
			Containers:  []corev1.Container{{Name: "app", Image: "app"}},
			Tolerations: tolerations,
			Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}
	must(t, k8s.Create(ctx, app))
	app.Status.Phase = corev1.PodRunning
	must(t, k8s.Status().Update(ctx, app))
	// In a cluster the application runs long before its replication is made; here the
	// controller's pod cache must have caught up before the test creates the object.
	eventually(t, "application pod in the controller's pod cache", func() error {
		seen := &corev1.Pod{}
		if err := controllerClient.Get(ctx, client.ObjectKeyFromObject(app), seen); err != nil {
			return err
		}
		if seen.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %q", seen.Status.Phase)
		}
		return nil
	})
}

// TestSourceSchedule checks nextSyncTime, schedule-driven syncs and a missed interval.
func TestSourceSchedule(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	rs := newSource(ns, "sched", "data", v1alpha1.CopyMethodDirect, &v1alpha1.TriggerSpec{Schedule: ptr.To("*/10 * * * *")})
	must(t, k8s.Create(ctx, rs))
	jobName := "volsync-rsync-tls-src-sched"
	// The first sync starts at once.
	succeed(t, ns, waitJob(t, ns, jobName).Name)
	next := waitIdle(t, rs)
	// The object's spread (whole seconds after the slot, below a minute for */10) is shown.
	spread := trigger.SpreadFor(string(rs.UID), 10*time.Minute)
	if slot := next.Add(-spread); slot.Minute()%10 != 0 || slot.Second() != 0 || !next.After(rs.Status.LastSyncTime.Time) {
		t.Fatalf("nextSyncTime %s is not the next */10 slot after %s plus the object's spread %s", next, rs.Status.LastSyncTime.Time, spread)
	}
	// At the slot, the next sync starts; it takes 25 minutes: past the slot after next.
	clk.SetTime(next)
	poke(t, rs)
	job := waitNewJob(t, ns, jobName)
	clk.Step(25 * time.Minute)
	succeed(t, ns, job.Name)
	next2 := waitIdle(t, rs)
	if !next2.After(next) {
		t.Fatalf("nextSyncTime did not advance: %s then %s", next, next2)
	}
	if v := metricValue(t, "volsync_missed_intervals_total", series("sched", ns, "source")); v != 1 {
		t.Errorf("missed intervals = %v, want 1 (one long sync counts once)", v)
	}
	if v := metricValue(t, "volsync_volume_out_of_sync", series("sched", ns, "source")); v != 0 {
		t.Errorf("out_of_sync = %v, want 0 right after a sync", v)
	}
}

// waitIdle waits for a scheduled source to be waiting for its next slot and returns it.
func waitIdle(t *testing.T, rs *v1alpha1.ReplicationSource) time.Time {
	t.Helper()
	var next time.Time
	eventually(t, "waiting for schedule", func() error {
		must(t, get(ctxT(t), rs.Namespace, rs.Name, rs))
		st := rs.Status
		if st == nil || st.LastSyncTime == nil || st.NextSyncTime == nil || st.LastSyncStartTime != nil {
			return fmt.Errorf("status: %+v", st)
		}
		if c := condition(&st.CommonStatus); c.Reason != v1alpha1.SynchronizingReasonSched {
			return fmt.Errorf("condition: %+v", c)
		}
		next = st.NextSyncTime.Time
		return nil
	})
	return next
}

// waitNewJob waits for a Job of that name that has not finished yet.
func waitNewJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{}
	eventually(t, "new Job "+name, func() error {
		if err := get(ctxT(t), ns, name, job); err != nil {
			return err
		}
		if len(job.Status.Conditions) > 0 {
			return errors.New("still the old Job")
		}
		return nil
	})
	startJob(t, job)
	return job
}

// TestPaused: a paused source's Job runs nothing; unpausing lets it run.
func TestPaused(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	rs := newSource(ns, "paused", "data", v1alpha1.CopyMethodDirect, nil)
	must(t, k8s.Create(ctx, rs))
	job := waitJob(t, ns, "volsync-rsync-tls-src-paused")
	must(t, get(ctx, ns, "paused", rs))
	rs.Spec.Paused = true
	must(t, k8s.Update(ctx, rs))
	eventually(t, "parallelism 0", func() error {
		must(t, get(ctx, ns, job.Name, job))
		if *job.Spec.Parallelism != 0 {
			return errors.New("still running")
		}
		must(t, get(ctx, ns, "paused", rs))
		if c := condition(&rs.Status.CommonStatus); c == nil || !strings.Contains(c.Message, "Paused") {
			return fmt.Errorf("condition does not say paused: %+v", c)
		}
		return nil
	})
	rs.Spec.Paused = false
	must(t, k8s.Update(ctx, rs))
	eventually(t, "parallelism 1", func() error {
		must(t, get(ctx, ns, job.Name, job))
		if *job.Spec.Parallelism != 1 {
			return errors.New("still paused")
		}
		return nil
	})
}
