package lifecycle

import (
	"errors"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

// BadVolumeInput: a source whose PVC is missing, or whose copy would use an unknown
// StorageClass, reports an Error naming it and creates nothing.
func (h *Harness) BadVolumeInput(t *testing.T) {
	t.Run("missing source PVC", func(t *testing.T) {
		ns := h.Namespace(t, nil)
		rs := h.NewSource(ns, "nopvc", "absent", v1alpha1.CopyMethodSnapshot, nil)
		h.Create(t, rs)
		h.WaitError(t, rs, "absent")
		h.NoneCreated(t, ns)
	})
	t.Run("unknown StorageClass", func(t *testing.T) {
		ns := h.Namespace(t, nil)
		h.SourcePVC(t, ns, "data")
		vol := SourceVolumes(v1alpha1.CopyMethodClone)
		vol.StorageClassName = ptr.To("no-such-class")
		rs := h.SourceWith(ns, "nosc", "data", vol, nil)
		h.Create(t, rs)
		h.WaitError(t, rs, "no-such-class")
		h.NoneCreated(t, ns)
	})
}

// MoverFailureBackoff: a failed pod is reported at once; a failed Job is replaced only after
// its backoff delay, carrying the failure count.
func (h *Harness) MoverFailureBackoff(t *testing.T) {
	ctx := Context(t)
	ns, rs := h.StartSource(t, "flaky", v1alpha1.CopyMethodDirect, nil)
	job := h.WaitJob(t, ns, h.JobName(naming.Source, "flaky"))

	const reason = "connecting to dest.example.com failed: the peer refused our key?"
	h.MoverPod(t, job, 0, corev1.PodFailed, `{"outcome":"Failed","error":"`+reason+`"}`)
	h.FailPod(t, job, 1)
	h.WaitError(t, rs, "the peer refused our key")
	if ms := rs.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultFailed || ms.Logs != reason {
		t.Fatalf("latestMoverStatus: %+v", ms)
	}
	h.WaitEvent(t, ns, "flaky", "TransferFailed", "attempt 1 failed")

	// The Job runs out of retries: it stays until its delay has passed. The Job controller
	// stamps its failure with the real time, so the controller's clock is set to it.
	h.Clock.SetTime(time.Now())
	h.MoverPod(t, job, 1, corev1.PodFailed, `{"outcome":"Failed","error":"`+reason+`"}`)
	h.FinishJob(t, job, false, 5)
	h.WaitEvent(t, ns, "flaky", "TransferFailed", "a new Job starts in 1m0s")
	h.WaitError(t, rs, "next attempt at")
	oldUID := job.UID
	h.Poke(t, rs)
	Must(t, h.Get(ctx, ns, job.Name, job))
	if job.UID != oldUID {
		t.Fatal("a failed Job was replaced before its backoff delay (hot loop)")
	}
	h.Clock.Step(jobs.RetryDelay(1) + time.Second)
	h.Poke(t, rs)
	Eventually(t, "replacement Job", func() error {
		if err := h.Get(ctx, ns, job.Name, job); err != nil {
			return err
		}
		if job.UID == oldUID {
			return errors.New("not replaced yet")
		}
		if job.Annotations[jobs.FailedJobsAnnotation] != "1" {
			return fmt.Errorf("failure count not carried: %v", job.Annotations)
		}
		return nil
	})
	// It succeeds: the error clears.
	h.Succeed(t, ns, job.Name)
	h.WaitSynced(t, rs, "")
	if ms := rs.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultSuccessful {
		t.Fatalf("latestMoverStatus: %+v", ms)
	}
}

// OtherMoversIgnored: objects of other movers get no status and no objects.
func (h *Harness) OtherMoversIgnored(t *testing.T) {
	ctx := Context(t)
	ns := h.Namespace(t, nil)
	h.SourcePVC(t, ns, "data")
	// The other mover is restic, or rclone when restic is the one under test.
	other := "restic"
	spec := v1alpha1.ReplicationSourceSpec{SourcePVC: "data",
		Restic: &v1alpha1.ReplicationSourceResticSpec{Repository: "repo"}}
	if h.Builder.HandlesSource(&v1alpha1.ReplicationSource{Spec: spec}) {
		other = "rclone"
		spec.Restic, spec.Rclone = nil, &v1alpha1.ReplicationSourceRcloneSpec{RcloneSpec: v1alpha1.RcloneSpec{
			RcloneConfig: ptr.To("cfg"), RcloneConfigSection: ptr.To("s"), RcloneDestPath: ptr.To("b/p")}}
	}
	rs := &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Name: other, Namespace: ns}, Spec: spec}
	h.Create(t, rs)
	// An object of this mover created after it in the same namespace is handled; by then the
	// restic one would have been too if the filter let it through.
	mine := h.NewSource(ns, "mine", "data", v1alpha1.CopyMethodDirect, nil)
	h.Create(t, mine)
	h.WaitJob(t, ns, h.JobName(naming.Source, "mine"))
	h.Poke(t, rs)
	h.Poke(t, mine)
	Eventually(t, "second reconcile of mine", func() error {
		Must(t, h.Get(ctx, ns, "mine", mine))
		if mine.Status == nil {
			return errors.New("no status")
		}
		return nil
	})
	Must(t, h.Get(ctx, ns, other, rs))
	if rs.Status != nil {
		t.Fatalf("the %s controller wrote a %s object's status: %+v", h.Builder.Name(), other, rs.Status)
	}
	for _, name := range []string{naming.Job("", naming.Source, other), naming.Job(other, naming.Source, other)} {
		h.Absent(t, ns, name, &batchv1.Job{}, "a Job was made for a "+other+" object")
	}
}

// StalledJobReplaced: a Job that never gets a pod (here no one plays the Job controller for
// it) is reported and replaced after jobs.JobStartTimeout, and the next replacement waits twice
// as long; the error stays visible while the replacement has no pod either.
func (h *Harness) StalledJobReplaced(t *testing.T) {
	ctx := Context(t)
	ns, rs := h.StartSource(t, "stalled", v1alpha1.CopyMethodDirect, nil)
	name := h.JobName(naming.Source, "stalled")
	job := h.FindJob(t, ns, name) // nobody starts it
	oldUID := job.UID

	h.Clock.Step(jobs.JobStartTimeout - time.Second)
	h.Poke(t, rs)
	h.WaitCondition(t, rs, v1alpha1.SynchronizingReasonSync, "")
	Must(t, h.Get(ctx, ns, name, job))
	if job.UID != oldUID {
		t.Fatal("a Job was replaced before its start timeout")
	}

	h.Clock.Step(2 * time.Second)
	h.Poke(t, rs)
	h.WaitError(t, rs, "got no pod in 2m0s")
	h.WaitEvent(t, ns, "stalled", "TransferFailed", "mover Job got no pod in 2m0s")
	Must(t, h.Get(ctx, ns, name, job))
	if job.UID == oldUID || job.Annotations[jobs.StalledJobsAnnotation] != "1" {
		t.Fatalf("want a replacement that carries the count: %v", job.Annotations)
	}
	// The replacement has no pod yet either: still an error, no new replacement before 4m.
	newUID := job.UID
	h.Clock.Step(jobs.StartTimeout(1) - time.Second)
	h.Poke(t, rs)
	h.WaitError(t, rs, "replaced (1 time(s)")
	Must(t, h.Get(ctx, ns, name, job))
	if job.UID != newUID {
		t.Fatal("the replacement was replaced before its (doubled) start timeout")
	}
	// Its pod starts and the sync completes: the error clears.
	h.StartJob(t, job)
	h.WaitCondition(t, rs, v1alpha1.SynchronizingReasonSync, "")
	h.Succeed(t, ns, name)
	h.WaitSynced(t, rs, "")
}
