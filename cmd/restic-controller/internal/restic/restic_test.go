package restic

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	resticcontract "github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// succeedWith finishes the object's Job with a successful result carrying details.
func succeedWith(t *testing.T, job *batchv1.Job, details string) {
	t.Helper()
	h.MoverPod(t, job, 0, corev1.PodSucceeded, `{"outcome":"Successful","filesTransferred":1,"details":{`+details+`}}`)
	h.FinishJob(t, job, true, 0)
}

// manual sets the manual trigger of rs (a new synchronization).
func manual(t *testing.T, rs *v1alpha1.ReplicationSource, v string, change func(*v1alpha1.ReplicationSourceResticSpec)) {
	t.Helper()
	lifecycle.Must(t, h.Get(lifecycle.Context(t), rs.Namespace, rs.Name, rs))
	rs.Spec.Trigger = &v1alpha1.ReplicationSourceTriggerSpec{Manual: v}
	if change != nil {
		change(rs.Spec.Restic)
	}
	lifecycle.Must(t, h.Client.Update(lifecycle.Context(t), rs))
}

// TestPruneAndUnlock: whether a Job unlocks and prunes is decided when it is created and holds
// until it ends (a spec change mid-run does not replace it); status.restic records the unlock
// the run made and a prune only when the mover reports one (the reference recorded prunes that
// never ran).
func TestPruneAndUnlock(t *testing.T) {
	ctx := lifecycle.Context(t)
	h.Clock.SetTime(time.Now())
	ns := h.Namespace(t, nil)
	h.SourcePVC(t, ns, "data")
	rs := h.NewSource(ns, "app", "data", v1alpha1.CopyMethodDirect, &v1alpha1.ReplicationSourceTriggerSpec{Manual: "one"})
	rs.Spec.Restic.PruneIntervalDays = ptr.To[int32](1)
	rs.Spec.Restic.Unlock = "u1"
	h.Create(t, rs)
	name := h.JobName(naming.Source, "app")

	job := h.WaitJob(t, ns, name)
	lifecycle.CheckMover(t, job, testImage, resticcontract.ActionUnlock, resticcontract.ActionBackup)
	// Mid-run the user asks for another unlock: the running Job is kept as it is.
	lifecycle.Must(t, h.Get(ctx, ns, rs.Name, rs))
	rs.Spec.Restic.Unlock = "u2"
	lifecycle.Must(t, h.Client.Update(ctx, rs))
	h.Poke(t, rs)
	lifecycle.Must(t, h.Get(ctx, ns, name, job))
	lifecycle.CheckMover(t, job, testImage, resticcontract.ActionUnlock, resticcontract.ActionBackup)
	succeedWith(t, job, `"unlocked":"true","snapshotID":"0123abcd"`)
	h.WaitSynced(t, rs, "one")
	if st := rs.Status.Restic; st == nil || st.LastUnlocked != "u1" || st.LastPruned != nil {
		t.Fatalf("status.restic %+v, want lastUnlocked u1 and no prune", st)
	}
	if logs := rs.Status.LatestMoverStatus.Logs; !strings.Contains(logs, "snapshotID: 0123abcd") {
		t.Errorf("latestMoverStatus.logs %q lacks the snapshot", logs)
	}

	// Two days later: a prune is due, and u2 was not unlocked yet.
	h.Clock.Step(48 * time.Hour)
	manual(t, rs, "two", nil)
	job = h.WaitNewJob(t, ns, name)
	lifecycle.CheckMover(t, job, testImage, resticcontract.ActionUnlock, resticcontract.ActionBackup, resticcontract.ActionPrune)
	succeedWith(t, job, `"unlocked":"true","pruned":"true"`)
	h.WaitSynced(t, rs, "two")
	prunedAt := h.Clock.Now()
	if st := rs.Status.Restic; st == nil || st.LastUnlocked != "u2" || st.LastPruned == nil || !st.LastPruned.Time.Equal(prunedAt.Truncate(time.Second)) {
		t.Fatalf("status.restic %+v, want lastUnlocked u2, lastPruned %s", st, prunedAt)
	}

	// Two more days: a prune is due again; the mover reports none (it failed to happen, or
	// the mover skipped it): lastPruned stays, so the next run prunes again.
	h.Clock.Step(48 * time.Hour)
	manual(t, rs, "three", func(s *v1alpha1.ReplicationSourceResticSpec) { s.Unlock = "" })
	job = h.WaitNewJob(t, ns, name)
	lifecycle.CheckMover(t, job, testImage, resticcontract.ActionBackup, resticcontract.ActionPrune)
	succeedWith(t, job, `"snapshotID":"4567"`)
	h.WaitSynced(t, rs, "three")
	if st := rs.Status.Restic; st == nil || st.LastUnlocked != "" || !st.LastPruned.Time.Equal(prunedAt.Truncate(time.Second)) {
		t.Fatalf("status.restic %+v, want lastPruned still %s and lastUnlocked cleared", st, prunedAt)
	}
	manual(t, rs, "four", nil)
	job = h.WaitNewJob(t, ns, name)
	lifecycle.CheckMover(t, job, testImage, resticcontract.ActionBackup, resticcontract.ActionPrune)
}

// failFast finishes job as Kubernetes does when the mover exits with ExitUserAction: one
// failed pod with the mover's result, the Job failed by its pod failure policy.
func failFast(t *testing.T, job *batchv1.Job, reason string) {
	t.Helper()
	h.MoverPod(t, job, 0, corev1.PodFailed, `{"outcome":"Failed","error":"`+reason+`","details":{"reason":"WrongPassword"}}`)
	h.UpdateJobStatus(t, job, func() bool {
		now := metav1.Now()
		job.Status.StartTime, job.Status.Active, job.Status.Ready, job.Status.Failed = &now, 0, ptr.To[int32](0), 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: batchv1.JobReasonPodFailurePolicy},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: batchv1.JobReasonPodFailurePolicy},
		}
		return true
	})
}

// TestGiveUp: a failure the user must fix (a wrong password) fails the Job at once; after
// giveUpAfter such Jobs no new Job starts, however long one waits, and the condition says what
// to do; a change of the repository Secret, or of the object, starts a Job again.
func TestGiveUp(t *testing.T) {
	ctx := lifecycle.Context(t)
	h.Clock.SetTime(time.Now())
	ns := h.Namespace(t, nil)
	h.SourcePVC(t, ns, "data")
	rs := h.NewSource(ns, "app", "data", v1alpha1.CopyMethodDirect, &v1alpha1.ReplicationSourceTriggerSpec{Manual: "one"})
	h.Create(t, rs)
	name := h.JobName(naming.Source, "app")
	const reason = "wrong password: RESTIC_PASSWORD does not open the repository"

	var job *batchv1.Job
	for n := 1; n <= giveUpAfter; n++ {
		if n == 1 {
			job = h.WaitJob(t, ns, name)
		} else {
			h.Clock.Step(jobs.RetryDelay(n-1) + time.Second)
			h.Poke(t, rs)
			job = h.WaitNewJob(t, ns, name)
		}
		failFast(t, job, reason)
		h.WaitCondition(t, rs, v1alpha1.SynchronizingReasonError, reason)
	}
	h.WaitCondition(t, rs, v1alpha1.SynchronizingReasonError,
		fmt.Sprintf("mover gave up after %d failed Jobs: %s; to fix: ", giveUpAfter, reason))
	gaveUp := job.UID
	h.Clock.Step(24 * time.Hour)
	h.Poke(t, rs)
	h.Poke(t, rs)
	lifecycle.Must(t, h.Get(ctx, ns, name, job))
	if job.UID != gaveUp {
		t.Fatal("a new Job started after the mover gave up, with nothing changed")
	}
	if ev := h.EventsFor(t, ns, rs.Name)["TransferFailed"]; !slices.ContainsFunc(ev, func(e string) bool { return strings.Contains(e, "no new Job starts") }) {
		t.Errorf("no event says the mover gave up: %v", ev)
	}

	// The user fixes the password: a Job starts afresh (no failed Jobs carried).
	secret := &corev1.Secret{}
	lifecycle.Must(t, h.Get(ctx, ns, repoSecret, secret))
	secret.Data["RESTIC_PASSWORD"] = []byte("the right one")
	lifecycle.Must(t, h.Client.Update(ctx, secret))
	h.Poke(t, rs)
	lifecycle.Eventually(t, "a fresh Job", func() error {
		if err := h.Get(ctx, ns, name, job); err != nil {
			return err
		}
		if job.UID == gaveUp {
			return errors.New("not replaced")
		}
		if n := job.Annotations[jobs.FailedJobsAnnotation]; n != "" {
			return fmt.Errorf("failed-jobs %q carried", n)
		}
		return nil
	})
	h.Succeed(t, ns, name)
	h.WaitSynced(t, rs, "one")
}

// TestCache: the cache PVC is made with the defaults (1Gi, the data volume's access modes,
// the storage class of the spec) or cacheCapacity, cacheStorageClassName, cacheAccessModes; a
// source's cache stays between synchronizations, a destination's with cleanupCachePVC goes
// after each.
func TestCache(t *testing.T) {
	ctx := lifecycle.Context(t)
	ns := h.Namespace(t, nil)
	lifecycle.Must(t, client.IgnoreAlreadyExists(h.Client.Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "cachy"}, Provisioner: "test.csi"})))
	h.SourcePVC(t, ns, "data", corev1.ReadWriteMany)
	rs := h.NewSource(ns, "app", "data", v1alpha1.CopyMethodDirect, &v1alpha1.ReplicationSourceTriggerSpec{Manual: "one"})
	rs.Spec.Restic.StorageClassName = ptr.To(lifecycle.StorageClass)
	h.Create(t, rs)
	h.Succeed(t, ns, h.JobName(naming.Source, "app"))
	h.WaitSynced(t, rs, "one")
	cache := &corev1.PersistentVolumeClaim{}
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-src-app-cache", cache))
	if q := cache.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) != 0 ||
		ptr.Deref(cache.Spec.StorageClassName, "") != lifecycle.StorageClass || !slices.Equal(cache.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}) ||
		!metav1.IsControlledBy(cache, rs) {
		t.Fatalf("source cache PVC %+v", cache.Spec)
	}
	if _, temporary := cache.Labels[v1alpha1.CleanupLabel]; temporary {
		t.Fatal("a source's cache is marked for cleanup")
	}
	uid := cache.UID
	manual(t, rs, "two", nil)
	succeedWith(t, h.WaitNewJob(t, ns, h.JobName(naming.Source, "app")), "")
	h.WaitSynced(t, rs, "two")
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-src-app-cache", cache))
	if cache.UID != uid {
		t.Fatal("the source's cache was made anew")
	}

	vol := lifecycle.DestinationVolumes()
	vol.CopyMethod = v1alpha1.CopyMethodDirect
	rd := h.DestinationWith(ns, "restore", "one", vol)
	rd.Spec.Restic.CacheCapacity = ptr.To(resource.MustParse("3Gi"))
	rd.Spec.Restic.CacheStorageClassName = ptr.To("cachy")
	rd.Spec.Restic.CacheAccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}
	rd.Spec.Restic.CleanupCachePVC = true
	h.Create(t, rd)
	name := h.JobName(naming.Destination, "restore")
	h.WaitJob(t, ns, name)
	lifecycle.Must(t, h.Get(ctx, ns, "volsync-dst-restore-cache", cache))
	if q := cache.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("3Gi")) != 0 ||
		ptr.Deref(cache.Spec.StorageClassName, "") != "cachy" || !slices.Equal(cache.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}) {
		t.Fatalf("destination cache PVC %+v", cache.Spec)
	}
	h.Succeed(t, ns, name)
	h.WaitSynced(t, rd, "one")
	h.WaitGone(t, ns, "volsync-dst-restore-cache", &corev1.PersistentVolumeClaim{})
}

// TestBadRepositorySecret: a missing Secret, or one without a required key, is an Error
// condition naming the cause and the fix, never a value, and nothing is created.
func TestBadRepositorySecret(t *testing.T) {
	cases := []struct {
		name   string
		secret map[string]string
		want   string
	}{
		{"missing", nil, "Secret repo not found (repository); to fix: create Secret repo in namespace"},
		{"no password", map[string]string{"RESTIC_REPOSITORY": "s3:http://x/SECRETVALUE"},
			"Secret repo (repository): missing key(s) [RESTIC_PASSWORD]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := lifecycle.Context(t)
			ns := h.Namespace(t, nil)
			if tc.secret != nil {
				lifecycle.Must(t, h.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: ns}, StringData: tc.secret}))
			}
			h.SourcePVC(t, ns, "data")
			rs := h.NewSource(ns, "app", "data", v1alpha1.CopyMethodDirect, nil)
			rs.Spec.Restic.Repository = "repo"
			h.Create(t, rs)
			h.WaitCondition(t, rs, v1alpha1.SynchronizingReasonError, tc.want)
			if c := lifecycle.Synchronizing(lifecycle.Common(rs)); strings.Contains(c.Message, "SECRETVALUE") {
				t.Fatalf("a Secret value in the condition: %s", c.Message)
			}
			h.Absent(t, ns, h.JobName(naming.Source, "app"), &batchv1.Job{}, "a Job was made with a bad repository Secret")
			h.Absent(t, ns, "volsync-src-app-cache", &corev1.PersistentVolumeClaim{}, "a cache was made with a bad repository Secret")
		})
	}
}
