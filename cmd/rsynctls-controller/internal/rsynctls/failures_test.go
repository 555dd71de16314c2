package rsynctls

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
)

// waitError waits for the Synchronizing condition to report an error containing fragment.
func waitError(t *testing.T, obj client.Object, status func() *v1alpha1.CommonStatus, fragment string) {
	t.Helper()
	waitCondition(t, obj, status, v1alpha1.SynchronizingReasonError, fragment)
	waitEvent(t, obj.GetNamespace(), obj.GetName(), "SynchronizationError", fragment)
}

// waitCondition waits for the Synchronizing condition to have reason and a message containing
// fragment.
func waitCondition(t *testing.T, obj client.Object, status func() *v1alpha1.CommonStatus, reason, fragment string) {
	t.Helper()
	eventually(t, reason+" condition with "+fragment, func() error {
		must(t, get(ctxT(t), obj.GetNamespace(), obj.GetName(), obj))
		st := status()
		if st == nil {
			return errors.New("no status")
		}
		c := condition(st)
		if c == nil || c.Reason != reason || !strings.Contains(c.Message, fragment) {
			return fmt.Errorf("condition: %+v", c)
		}
		return nil
	})
}

// noneCreated checks that nothing was left behind by an object that could not start.
func noneCreated(t *testing.T, ns string) {
	t.Helper()
	ctx := ctxT(t)
	jobsList := &batchv1.JobList{}
	must(t, k8s.List(ctx, jobsList, client.InNamespace(ns)))
	pvcs := &corev1.PersistentVolumeClaimList{}
	must(t, k8s.List(ctx, pvcs, client.InNamespace(ns), client.MatchingLabels{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}))
	if len(jobsList.Items) != 0 || len(pvcs.Items) != 0 {
		t.Fatalf("bad input leaked %d Jobs and %d PVCs", len(jobsList.Items), len(pvcs.Items))
	}
}

func TestBadInput(t *testing.T) {
	t.Run("missing key Secret", func(t *testing.T) {
		ns := newNamespace(t, nil)
		sourcePVC(t, ns, "data")
		rs := newSource(ns, "nokey", "data", v1alpha1.CopyMethodClone, nil)
		rs.Spec.RsyncTLS.KeySecret = ptr.To("missing")
		must(t, k8s.Create(ctxT(t), rs))
		waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, "Secret missing not found")
		noneCreated(t, ns)
	})
	// A key the mover would refuse is refused before any Job starts, with the expected format.
	// "volsync:this-is-not-hex-but-long" passed the controller's old check (16 printable
	// characters) and then failed in every mover pod.
	for name, key := range map[string]string{"malformed PSK": "no-colon-here", "PSK not hex": "volsync:this-is-not-hex-but-long"} {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			ns := newNamespace(t, nil)
			must(t, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns},
				StringData: map[string]string{PSKKey: key}}))
			rd := newDestination(ns, "badkey", "x")
			rd.Spec.RsyncTLS.KeySecret = ptr.To("bad")
			must(t, k8s.Create(ctx, rd))
			waitError(t, rd, func() *v1alpha1.CommonStatus { return commonOfRD(rd.Status) }, "key psk.txt of Secret bad: malformed PSK: line 1: ")
			c := condition(commonOfRD(rd.Status))
			if !strings.Contains(c.Message, "want one or more lines \"<identity>:<key>\"") || !strings.Contains(c.Message, "32 hexadecimal digits") {
				t.Fatalf("the condition must tell the expected format: %s", c.Message)
			}
			if _, secret, ok := strings.Cut(key, ":"); ok && strings.Contains(c.Message, secret) || strings.Contains(c.Message, key) {
				t.Fatal("the key must never appear in the status")
			}
			jobsList := &batchv1.JobList{}
			must(t, k8s.List(ctx, jobsList, client.InNamespace(ns)))
			if len(jobsList.Items) != 0 {
				t.Fatal("a Job was started with a malformed key")
			}
		})
	}
	t.Run("missing source PVC", func(t *testing.T) {
		ns := newNamespace(t, nil)
		rs := newSource(ns, "nopvc", "absent", v1alpha1.CopyMethodSnapshot, nil)
		must(t, k8s.Create(ctxT(t), rs))
		waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, "absent")
		noneCreated(t, ns)
	})
	t.Run("unknown StorageClass", func(t *testing.T) {
		ns := newNamespace(t, nil)
		sourcePVC(t, ns, "data")
		rs := newSource(ns, "nosc", "data", v1alpha1.CopyMethodClone, nil)
		rs.Spec.RsyncTLS.StorageClassName = ptr.To("no-such-class")
		must(t, k8s.Create(ctxT(t), rs))
		waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, "no-such-class")
		noneCreated(t, ns)
	})
	t.Run("missing moverVolume Secret", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, nil)
		sourcePVC(t, ns, "data")
		rs := newSource(ns, "novol", "data", v1alpha1.CopyMethodDirect, nil)
		rs.Spec.RsyncTLS.MoverVolumes = []v1alpha1.MoverVolume{{MountPath: "certs", VolumeSource: v1alpha1.MoverVolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "absent"}}}}
		must(t, k8s.Create(ctx, rs))
		waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) },
			`moverVolumes[0] (mountPath certs): Secret "absent" not found`)
		noneCreated(t, ns)
		// The user creates it: the next attempt starts the Job.
		must(t, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "absent", Namespace: ns}}))
		poke(t, rs)
		job := waitJob(t, ns, "volsync-rsync-tls-src-novol")
		if v := job.Spec.Template.Spec.Volumes; v[len(v)-1].Secret == nil || v[len(v)-1].Secret.SecretName != "absent" {
			t.Fatalf("moverVolume not mounted: %+v", v)
		}
	})
	t.Run("no address", func(t *testing.T) {
		ns := newNamespace(t, nil)
		sourcePVC(t, ns, "data")
		rs := newSource(ns, "noaddr", "data", v1alpha1.CopyMethodClone, nil)
		rs.Spec.RsyncTLS.Address = nil
		must(t, k8s.Create(ctxT(t), rs))
		waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, "address is required")
		noneCreated(t, ns)
	})
}

func commonOf(st *v1alpha1.ReplicationSourceStatus) *v1alpha1.CommonStatus {
	if st == nil {
		return nil
	}
	return &st.CommonStatus
}

func commonOfRD(st *v1alpha1.ReplicationDestinationStatus) *v1alpha1.CommonStatus {
	if st == nil {
		return nil
	}
	return &st.CommonStatus
}

// TestMoverFailureBackoff: a failed pod is reported at once; a failed Job is replaced only
// after its backoff delay, carrying the failure count.
func TestMoverFailureBackoff(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	rs := newSource(ns, "flaky", "data", v1alpha1.CopyMethodDirect, nil)
	must(t, k8s.Create(ctx, rs))
	job := waitJob(t, ns, "volsync-rsync-tls-src-flaky")

	const reason = "TLS handshake with dest.example.com:8000 failed: wrong pre-shared key?"
	moverPod(t, job, 0, corev1.PodFailed, `{"outcome":"Failed","error":"`+reason+`"}`)
	failPod(t, job, 1)
	waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, "wrong pre-shared key")
	if ms := rs.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultFailed || ms.Logs != reason {
		t.Fatalf("latestMoverStatus: %+v", ms)
	}
	waitEvent(t, ns, "flaky", "TransferFailed", "attempt 1 failed")

	// The Job runs out of retries: it stays until its delay has passed. The Job controller
	// stamps its failure with the real time, so the controller's clock is set to it.
	clk.SetTime(time.Now())
	moverPod(t, job, 1, corev1.PodFailed, `{"outcome":"Failed","error":"`+reason+`"}`)
	finishJob(t, job, false, 5)
	waitEvent(t, ns, "flaky", "TransferFailed", "a new Job starts in 1m0s")
	waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, "next attempt at")
	oldUID := job.UID
	poke(t, rs)
	must(t, get(ctx, ns, job.Name, job))
	if job.UID != oldUID {
		t.Fatal("a failed Job was replaced before its backoff delay (hot loop)")
	}
	clk.Step(jobs.RetryDelay(1) + time.Second)
	poke(t, rs)
	eventually(t, "replacement Job", func() error {
		err := get(ctx, ns, job.Name, job)
		if err != nil {
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
	succeed(t, ns, job.Name)
	eventually(t, "recovered", func() error {
		must(t, get(ctx, ns, "flaky", rs))
		if rs.Status.LastSyncTime == nil || rs.Status.LatestMoverStatus.Result != v1alpha1.MoverResultSuccessful {
			return fmt.Errorf("status: %+v", rs.Status)
		}
		return nil
	})
}

// TestOtherMoversIgnored: objects of other movers get no status and no objects.
func TestOtherMoversIgnored(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: "restic", Namespace: ns},
		Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: "data",
			Restic: &v1alpha1.ReplicationSourceResticSpec{Repository: "repo"}},
	}
	must(t, k8s.Create(ctx, rs))
	// An rsync-TLS object created after it in the same namespace is handled; by then the
	// restic one would have been too if the filter let it through.
	mine := newSource(ns, "mine", "data", v1alpha1.CopyMethodDirect, nil)
	must(t, k8s.Create(ctx, mine))
	waitJob(t, ns, "volsync-rsync-tls-src-mine")
	poke(t, rs)
	poke(t, mine)
	eventually(t, "second reconcile of mine", func() error {
		must(t, get(ctx, ns, "mine", mine))
		if mine.Status == nil {
			return errors.New("no status")
		}
		return nil
	})
	must(t, get(ctx, ns, "restic", rs))
	if rs.Status != nil {
		t.Fatalf("the rsync-TLS controller wrote a restic object's status: %+v", rs.Status)
	}
	if err := get(ctx, ns, "volsync-rsync-tls-src-restic", &batchv1.Job{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a Job was made for a restic object: %v", err)
	}
}

// TestStalledJobReplaced: a Job that never gets a pod (here no one plays the Job controller for
// it) is reported and replaced after jobs.JobStartTimeout, and the next replacement waits twice
// as long; the error stays visible while the replacement has no pod either.
func TestStalledJobReplaced(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	sourcePVC(t, ns, "data")
	rs := newSource(ns, "stalled", "data", v1alpha1.CopyMethodDirect, nil)
	must(t, k8s.Create(ctx, rs))
	name := "volsync-rsync-tls-src-stalled"
	job := findJob(t, ns, name) // nobody starts it
	oldUID := job.UID

	clk.Step(jobs.JobStartTimeout - time.Second)
	poke(t, rs)
	waitCondition(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, v1alpha1.SynchronizingReasonSync, "")
	must(t, get(ctx, ns, name, job))
	if job.UID != oldUID {
		t.Fatal("a Job was replaced before its start timeout")
	}

	clk.Step(2 * time.Second)
	poke(t, rs)
	waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, "got no pod in 2m0s")
	waitEvent(t, ns, "stalled", "TransferFailed", "mover Job got no pod in 2m0s")
	must(t, get(ctx, ns, name, job))
	if job.UID == oldUID || job.Annotations[jobs.StalledJobsAnnotation] != "1" {
		t.Fatalf("want a replacement that carries the count: %v", job.Annotations)
	}
	// The replacement has no pod yet either: still an error, no new replacement before 4m.
	newUID := job.UID
	clk.Step(jobs.StartTimeout(1) - time.Second)
	poke(t, rs)
	waitError(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, "replaced (1 time(s)")
	must(t, get(ctx, ns, name, job))
	if job.UID != newUID {
		t.Fatal("the replacement was replaced before its (doubled) start timeout")
	}
	// Its pod starts and the sync completes: the error clears.
	startJob(t, job)
	waitCondition(t, rs, func() *v1alpha1.CommonStatus { return commonOf(rs.Status) }, v1alpha1.SynchronizingReasonSync, "")
	succeed(t, ns, name)
	eventually(t, "recovered", func() error {
		must(t, get(ctx, ns, "stalled", rs))
		if rs.Status.LastSyncTime == nil {
			return fmt.Errorf("status: %+v", rs.Status)
		}
		return nil
	})
}
