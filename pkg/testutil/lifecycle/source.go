package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/trigger"
)

// SourceCheck is a mover's own check of a source's Job in a scenario; rs is as last read.
type SourceCheck func(t *testing.T, rs *v1alpha1.ReplicationSource, job *batchv1.Job)

// unprivilegedUID is the uid of a mover that is neither privileged nor given a
// moverSecurityContext.
const unprivilegedUID = 65534

// CheckUnprivileged checks a mover Job of a namespace without the privileged-movers
// annotation: non-root, no capability, read-only root filesystem, PRIVILEGED_MOVER=0.
func CheckUnprivileged(t *testing.T, job *batchv1.Job) {
	t.Helper()
	c := Container(t, job)
	pod := job.Spec.Template.Spec
	sc := c.SecurityContext
	if sc == nil || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) || ptr.Deref(sc.AllowPrivilegeEscalation, true) ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Fatalf("container security context: %+v", sc)
	}
	if pod.SecurityContext == nil || !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) ||
		ptr.Deref(pod.SecurityContext.RunAsUser, 0) != unprivilegedUID || sc.RunAsUser != nil {
		t.Fatalf("pod security context: %+v (container %+v)", pod.SecurityContext, sc)
	}
	if v := EnvOf(c)[jobs.EnvPrivileged]; v != "0" {
		t.Fatalf("%s=%q, want 0", jobs.EnvPrivileged, v)
	}
}

// SourceClone follows a Clone source through one manual sync: the clone, the Job (checked by
// started), events, metrics, status and the cleanup of the clone and the Job.
func (h *Harness) SourceClone(t *testing.T, started SourceCheck) {
	ctx := Context(t)
	// Status times are stored with second precision: start on a whole second.
	h.Clock.SetTime(h.Clock.Now().Truncate(time.Second))
	ns, rs := h.StartSource(t, "src", v1alpha1.CopyMethodClone, &v1alpha1.TriggerSpec{Manual: "go"})

	clone := &corev1.PersistentVolumeClaim{}
	Eventually(t, "clone PVC", func() error { return h.Get(ctx, ns, "volsync-src-src", clone) })
	if clone.Spec.DataSource == nil || clone.Spec.DataSource.Kind != "PersistentVolumeClaim" || clone.Spec.DataSource.Name != "data" ||
		clone.Labels[v1alpha1.CleanupLabel] != string(rs.UID) || !metav1.IsControlledBy(clone, rs) {
		t.Fatalf("clone PVC: %+v %+v", clone.ObjectMeta, clone.Spec.DataSource)
	}
	job := h.WaitJob(t, ns, h.JobName(naming.Source, "src"))
	if claim := DataClaim(job); claim != "volsync-src-src" {
		t.Fatalf("the Job reads %q, want the clone", claim)
	}
	CheckUnprivileged(t, job)
	if started != nil {
		Must(t, h.Get(ctx, ns, "src", rs))
		started(t, rs, job)
	}
	h.WaitEvent(t, ns, "src", "TransferStarted", "to transmit data")
	if v := h.Metric(t, "volsync_volume_out_of_sync", h.Series("src", ns, "source")); v != 1 {
		t.Errorf("out_of_sync before the first sync = %v, want 1", v)
	}

	h.Clock.Step(90 * time.Second)
	h.Succeed(t, ns, job.Name)
	h.WaitSynced(t, rs, "go")
	if d := rs.Status.LastSyncDuration; d == nil || d.Duration != 90*time.Second {
		t.Fatalf("lastSyncDuration %v, want 1m30s", d)
	}
	h.WaitCondition(t, rs, v1alpha1.SynchronizingReasonManual, "Waiting for manual trigger")
	h.WaitCleanedUp(t, rs, job.Name, "volsync-src-src")
	h.WaitEvent(t, ns, "src", "SynchronizationCompleted", "1m30s")
}

// SourceSnapshot: the PVC is restored from the snapshot only once it is bound and ready; the
// Job (checked by started) reads it; after the sync the snapshot and the PVC are removed.
func (h *Harness) SourceSnapshot(t *testing.T, started SourceCheck) {
	ctx := Context(t)
	ns, rs := h.StartSource(t, "snap", v1alpha1.CopyMethodSnapshot, &v1alpha1.TriggerSpec{Manual: "go"})
	snap := &snapv1.VolumeSnapshot{}
	Eventually(t, "snapshot", func() error { return h.Get(ctx, ns, "volsync-snap-src", snap) })
	if *snap.Spec.Source.PersistentVolumeClaimName != "data" || *snap.Spec.VolumeSnapshotClassName != SnapshotClass {
		t.Fatalf("snapshot spec: %+v", snap.Spec)
	}
	// Bound but not yet ready: no PVC may be made from it (the reference raced here).
	Eventually(t, "snapshot bound, not ready", func() error {
		if err := h.Get(ctx, ns, "volsync-snap-src", snap); err != nil {
			return err
		}
		snap.Status = &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To("content"), ReadyToUse: ptr.To(false)}
		return h.Client.Status().Update(ctx, snap)
	})
	h.Poke(t, rs)
	h.Absent(t, ns, "volsync-snap-src", &corev1.PersistentVolumeClaim{}, "a PVC was restored from a snapshot that is not ready")
	h.ReadySnapshot(t, ns, "volsync-snap-src")
	restored := &corev1.PersistentVolumeClaim{}
	Eventually(t, "restored PVC", func() error { return h.Get(ctx, ns, "volsync-snap-src", restored) })
	if restored.Spec.DataSource == nil || restored.Spec.DataSource.Kind != "VolumeSnapshot" || *restored.Spec.DataSource.APIGroup != snapv1.GroupName {
		t.Fatalf("restored PVC data source: %+v", restored.Spec.DataSource)
	}
	job := h.WaitJob(t, ns, h.JobName(naming.Source, "snap"))
	if claim := DataClaim(job); claim != "volsync-snap-src" {
		t.Fatalf("the Job reads %q, want the restored PVC", claim)
	}
	h.finishSource(t, rs, job, started, "volsync-snap-src")
	h.WaitGone(t, ns, "volsync-snap-src", &snapv1.VolumeSnapshot{})
}

// SourceDirect: the mover reads the source PVC itself (no copy), next to the application pod
// of the RWO volume with its tolerations; started checks the Job; the sync completes and the
// Job is removed, the source PVC stays.
func (h *Harness) SourceDirect(t *testing.T, started SourceCheck) {
	ns := h.Namespace(t, nil)
	h.SourcePVC(t, ns, "data")
	h.RunningApp(t, ns, "data", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists})

	rs := h.NewSource(ns, "direct", "data", v1alpha1.CopyMethodDirect, &v1alpha1.TriggerSpec{Manual: "go"})
	h.Create(t, rs)
	job := h.WaitJob(t, ns, h.JobName(naming.Source, "direct"))
	spec := job.Spec.Template.Spec
	if spec.NodeSelector["kubernetes.io/hostname"] != "host-"+ns || len(spec.Tolerations) == 0 || spec.Tolerations[0].Key != "dedicated" {
		t.Fatalf("mover not co-scheduled: %v %v", spec.NodeSelector, spec.Tolerations)
	}
	if claim := DataClaim(job); claim != "data" {
		t.Fatalf("Direct must mount the source itself, not %q", claim)
	}
	h.Absent(t, ns, "volsync-direct-src", &corev1.PersistentVolumeClaim{}, "Direct made a copy")
	h.finishSource(t, rs, job, started, "")
}

// finishSource lets started check the Job of rs's synchronization "go", completes the Job,
// and waits for the synchronization to be stored and its Job and copy pvc to be removed.
func (h *Harness) finishSource(t *testing.T, rs *v1alpha1.ReplicationSource, job *batchv1.Job, started SourceCheck, pvc string) {
	t.Helper()
	if started != nil {
		Must(t, h.Get(Context(t), rs.Namespace, rs.Name, rs))
		started(t, rs, job)
	}
	h.Succeed(t, rs.Namespace, job.Name)
	h.WaitSynced(t, rs, "go")
	h.WaitCleanedUp(t, rs, job.Name, pvc)
}

// WaitCleanedUp waits until the synchronization's Job and point-in-time copy pvc ("" for
// none) of rs are removed, and checks that its source PVC stays.
func (h *Harness) WaitCleanedUp(t *testing.T, rs *v1alpha1.ReplicationSource, job, pvc string) {
	t.Helper()
	h.WaitGone(t, rs.Namespace, job, &batchv1.Job{})
	if pvc != "" {
		h.WaitGone(t, rs.Namespace, pvc, &corev1.PersistentVolumeClaim{})
	}
	if err := h.Get(Context(t), rs.Namespace, rs.Spec.SourcePVC, &corev1.PersistentVolumeClaim{}); err != nil {
		t.Fatalf("the source PVC must stay: %v", err)
	}
}

// SourceSchedule checks nextSyncTime, schedule-driven syncs and a missed interval.
func (h *Harness) SourceSchedule(t *testing.T) {
	ns, rs := h.StartSource(t, "sched", v1alpha1.CopyMethodDirect, &v1alpha1.TriggerSpec{Schedule: ptr.To("*/10 * * * *")})
	jobName := h.JobName(naming.Source, "sched")
	// The first sync starts at once.
	h.Succeed(t, ns, h.WaitJob(t, ns, jobName).Name)
	next := h.WaitIdle(t, rs)
	// The object's spread (whole seconds after the slot, below a minute for */10) is shown.
	spread := trigger.SpreadFor(string(rs.UID), 10*time.Minute)
	if slot := next.Add(-spread); slot.Minute()%10 != 0 || slot.Second() != 0 || !next.After(rs.Status.LastSyncTime.Time) {
		t.Fatalf("nextSyncTime %s is not the next */10 slot after %s plus the object's spread %s", next, rs.Status.LastSyncTime.Time, spread)
	}
	// At the slot, the next sync starts; it takes 25 minutes: past the slot after next.
	h.Clock.SetTime(next)
	h.Poke(t, rs)
	job := h.WaitNewJob(t, ns, jobName)
	h.Clock.Step(25 * time.Minute)
	h.Succeed(t, ns, job.Name)
	next2 := h.WaitIdle(t, rs)
	if !next2.After(next) {
		t.Fatalf("nextSyncTime did not advance: %s then %s", next, next2)
	}
	if v := h.Metric(t, "volsync_missed_intervals_total", h.Series("sched", ns, "source")); v != 1 {
		t.Errorf("missed intervals = %v, want 1 (one long sync counts once)", v)
	}
	if v := h.Metric(t, "volsync_volume_out_of_sync", h.Series("sched", ns, "source")); v != 0 {
		t.Errorf("out_of_sync = %v, want 0 right after a sync", v)
	}
}

// Paused: a paused source's Job runs nothing (parallelism 0) and its condition says so;
// unpausing lets it run.
func (h *Harness) Paused(t *testing.T) {
	ctx := Context(t)
	ns, rs := h.StartSource(t, "paused", v1alpha1.CopyMethodDirect, nil)
	job := h.WaitJob(t, ns, h.JobName(naming.Source, "paused"))
	for _, paused := range []bool{true, false} {
		Must(t, h.Get(ctx, ns, "paused", rs))
		rs.Spec.Paused = paused
		Must(t, h.Client.Update(ctx, rs))
		Eventually(t, fmt.Sprintf("paused %v", paused), func() error {
			Must(t, h.Get(ctx, ns, job.Name, job))
			if p := *job.Spec.Parallelism; p != map[bool]int32{true: 0, false: 1}[paused] {
				return fmt.Errorf("parallelism %d", p)
			}
			Must(t, h.Get(ctx, ns, "paused", rs))
			if c := Synchronizing(Common(rs)); c == nil || strings.Contains(c.Message, "Paused") != paused {
				return fmt.Errorf("condition: %+v", c)
			}
			return nil
		})
	}
}

// PrivilegedMover: in a namespace with the privileged-movers annotation the mover runs as
// root with caps added (and nothing else), PRIVILEGED_MOVER=1, on both sides.
func (h *Harness) PrivilegedMover(t *testing.T, caps []corev1.Capability) {
	ns := h.Namespace(t, map[string]string{v1alpha1.PrivilegedMoversNamespaceAnnotation: "true"})
	h.SourcePVC(t, ns, "data")
	h.Create(t, h.NewSource(ns, "src", "data", v1alpha1.CopyMethodDirect, nil))
	h.Create(t, h.NewDestination(ns, "dest", "one"))
	h.DestinationPVC(t, ns, "dest")
	for _, name := range []string{h.JobName(naming.Source, "src"), h.JobName(naming.Destination, "dest")} {
		job := h.FindJob(t, ns, name)
		c := Container(t, job)
		sc := c.SecurityContext
		if sc == nil || ptr.Deref(sc.RunAsUser, -1) != 0 || ptr.Deref(sc.RunAsNonRoot, true) || ptr.Deref(sc.Privileged, true) ||
			ptr.Deref(sc.AllowPrivilegeEscalation, true) || sc.Capabilities == nil ||
			!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(sc.Capabilities.Add, caps) {
			t.Errorf("%s: container security context %+v, want root with exactly %v", name, sc, caps)
		}
		if psc := job.Spec.Template.Spec.SecurityContext; psc != nil && (psc.RunAsUser != nil || ptr.Deref(psc.RunAsNonRoot, false)) {
			t.Errorf("%s: pod security context %+v overrides root", name, psc)
		}
		if v := EnvOf(c)[jobs.EnvPrivileged]; v != "1" {
			t.Errorf("%s: %s=%q, want 1", name, jobs.EnvPrivileged, v)
		}
	}
}
