package jobs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/pkg/common/events"
)

// Retry timing.
const (
	// JobRetryBase is the wait after a failed Job before a new one starts; it doubles with
	// each failed Job of the same synchronization up to JobRetryCap.
	JobRetryBase = 1 * time.Minute
	// JobRetryCap bounds the wait between Jobs.
	JobRetryCap = 30 * time.Minute
	// FailedJobsAnnotation counts the failed Jobs of the current synchronization; it is
	// carried from a failed Job to the one that replaces it.
	FailedJobsAnnotation = "volsync.backube/failed-jobs"
	// JobStartTimeout is how long a Job may have no pod at all (none active, none finished)
	// before it is reported and replaced. It doubles with each replacement of the same
	// synchronization up to JobRetryCap. Pending pods (image pulls, scheduling) count as
	// active, so this only catches a Job the Job controller never started (pod creation
	// refused, or kubernetes/kubernetes#142142).
	JobStartTimeout = 2 * time.Minute
	// StalledJobsAnnotation counts the Jobs of the current synchronization replaced because
	// they never got a pod; it is carried to the replacement.
	StalledJobsAnnotation = "volsync.backube/stalled-jobs"
	// NextFailedJobsAnnotation and NextStalledJobsAnnotation hold, on a Job being replaced,
	// the counts its successor starts with: when something (a finalizer) keeps the old Job, the
	// successor can only be created by a later reconcile, which reads them there.
	NextFailedJobsAnnotation  = "volsync.backube/next-failed-jobs"
	NextStalledJobsAnnotation = "volsync.backube/next-stalled-jobs"
	NextWaitedJobsAnnotation  = "volsync.backube/next-waited-jobs"
	// WaitedJobsAnnotation counts the Jobs of the current synchronization whose mover found
	// nothing to do yet (result.OutcomeWaiting: an rclone destination whose remote path no
	// source has written); the next one starts after WaitRetryBase, doubled per such Job up
	// to JobRetryCap.
	WaitedJobsAnnotation = "volsync.backube/waited-jobs"
	// WaitRetryBase is the first wait after a mover reported that it waits.
	WaitRetryBase = 1 * time.Minute
	// CreatedAnnotation is when the controller created the Job, by its clock (RFC 3339), so
	// the start timeout is measured on the same clock as everything else.
	CreatedAnnotation = "volsync.backube/job-created"
	// podRetryHint is when to look again after a pod failure that Kubernetes retries itself
	// (the Job's own status change usually wakes us first).
	podRetryHint = 30 * time.Second
)

// ErrNotOwned is returned when a Job of the mover's name exists but belongs to someone else.
var ErrNotOwned = errors.New("object exists and is not owned by this replication")

// Phase is where a mover Job is.
type Phase string

const (
	Running   Phase = "Running"
	Succeeded Phase = "Succeeded"
	Failed    Phase = "Failed"
	// Waiting: the mover ended cleanly without doing its work because what it needs is not
	// there yet (Outcome.Waiting says what); a new Job starts after a delay.
	Waiting Phase = "Waiting"
)

// Outcome is what Run observed.
type Outcome struct {
	Phase Phase
	// MoverStatus is set when a run ended (successfully or not) and should be published.
	MoverStatus *v1alpha1.MoverStatus
	// Result is the mover's JSON result, when it wrote one.
	Result *Result
	// Err describes a failure (Phase Failed, or Running after a failed pod that is retried).
	Err error
	// RetryAfter is when to look again at the latest (0: the Job's watch will wake us).
	RetryAfter time.Duration
	// Waiting says what a Waiting mover waits for, and when it looks again.
	Waiting string
	// GaveUp: Phase Failed, and no new Job starts until the user acts (Spec.GiveUpAfter);
	// Err says why.
	GaveUp bool
}

// Runner runs mover Jobs.
type Runner struct {
	// Client reads Jobs from the controller's cache (clients.Split) and writes.
	Client client.Client
	// APIReader reads live: the pods of a Job that finished or never started (rare, and
	// they must be current).
	APIReader client.Reader
	// Users reads the user's moverVolumes once per synchronization (nil: APIReader).
	Users client.Reader
	// Pods lists Pods by claim (affinity.ClaimIndex) from the controller's pod cache and
	// reads Nodes, to place Direct movers (nil: Client).
	Pods   client.Reader
	Events events.Recorder
	Clock  clock.PassiveClock
	// StartedNote is the note of the TransferStarted event, e.g. "starting Job/%s to transmit data".
	StartedNote string
	// successors remembers counts for Jobs whose predecessor is still being deleted (nil: the
	// process-wide memory; tests give a fresh one to play a restarted controller).
	successors *handovers
}

// Run creates the Job if needed and reports its state. A Block data volume is refused unless
// the mover supports it (CheckVolumeMode) and the user's moverVolumes are checked
// (CheckMoverVolumes) before anything is created. A new Job is placed once, when it is
// created (see place). A failed pod is reported (event,
// latestMoverStatus, error) while Kubernetes retries it; a failed Job is replaced after a
// delay that doubles per failure (JobRetryBase..JobRetryCap), so failures are loud and
// retries never hot-loop.
func (r Runner) Run(ctx context.Context, s Spec) (Outcome, error) {
	logger := log.FromContext(ctx).WithValues("job", s.Name)
	if err := CheckVolumeMode(s); err != nil {
		return Outcome{}, err
	}
	users := r.Users
	if users == nil {
		users = r.APIReader
	}
	volumePVC, err := CheckMoverVolumes(ctx, users, s.Owner.GetNamespace(), s.Config)
	if err != nil {
		return Outcome{}, err
	}
	s.placeWith = volumePVC
	desired := Build(s)
	key := r.successorKey(s)
	job := &batchv1.Job{}
	err = r.Client.Get(ctx, client.ObjectKey{Namespace: desired.Namespace, Name: desired.Name}, job)
	if apierrors.IsNotFound(err) {
		return r.create(ctx, s, r.pending().get(key))
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("reading Job %s: %w", desired.Name, err)
	}
	if !metav1.IsControlledBy(job, s.Owner) {
		return Outcome{}, fmt.Errorf("job %s: %w", job.Name, ErrNotOwned)
	}
	if !job.DeletionTimestamp.IsZero() {
		// Being replaced or cleaned up; its removal wakes us. A replaced Job names the counts
		// of its successor: keep them for when the name is free and the Job is gone.
		if next, ok := successorCounts(job); ok {
			r.pending().remember(key, next, r.Clock.Now())
		}
		return Outcome{Phase: Running}, nil
	}
	failedJobs := annotationInt(job, FailedJobsAnnotation)

	switch {
	case finished(job, batchv1.JobComplete):
		res, raw := r.podResult(ctx, job, corev1.PodSucceeded)
		if res != nil && res.Outcome == result.OutcomeWaiting {
			return r.waitingJob(ctx, s, job, res)
		}
		return Outcome{Phase: Succeeded, Result: res, MoverStatus: MoverStatus(true, res, raw)}, nil
	case finished(job, batchv1.JobFailed):
		if job.Annotations[SpecHashAnnotation] != desired.Annotations[SpecHashAnnotation] {
			// The user changed the spec since (a fix, usually): try it now, counting afresh.
			logger.Info("Replacing failed mover Job whose pod template is outdated")
			return r.replace(ctx, s, job, counts{})
		}
		return r.failedJob(ctx, s, job, failedJobs)
	}

	if job.Annotations[SpecHashAnnotation] != desired.Annotations[SpecHashAnnotation] {
		logger.Info("Replacing mover Job whose pod template is outdated")
		// Foreground: the replacement is created once the old pods are gone (the Job's
		// deletion event wakes us).
		if err := r.delete(ctx, job, metav1.DeletePropagationForeground); err != nil {
			return Outcome{}, err
		}
		return Outcome{Phase: Running}, nil
	}
	if o, stalled, err := r.stalled(ctx, s, job, failedJobs); stalled || err != nil {
		return o, err
	}
	if p := ptr.Deref(job.Spec.Parallelism, 1); p != *desired.Spec.Parallelism {
		patch := client.MergeFrom(job.DeepCopy())
		job.Spec.Parallelism = desired.Spec.Parallelism
		if err := r.Client.Patch(ctx, job, patch); err != nil {
			return Outcome{}, fmt.Errorf("setting parallelism of Job %s: %w", job.Name, err)
		}
	}
	reported := annotationInt(job, FailuresReportedAnnotation)
	if job.Status.Failed > int32(reported) {
		res, raw := r.podResult(ctx, job, corev1.PodFailed)
		reason := ErrorText(res, raw)
		r.Events.Warning(job, events.ReasonTransferFailed, events.ActionRetryAfterFailure,
			"mover attempt %d failed, Kubernetes retries it: %s", job.Status.Failed, reason)
		if err := r.annotate(ctx, job, map[string]string{
			FailuresReportedAnnotation: strconv.Itoa(int(job.Status.Failed)), LastFailureAnnotation: truncate(reason, maxReasonLen),
		}); err != nil {
			return Outcome{}, err
		}
		return Outcome{Phase: Running, Result: res, MoverStatus: MoverStatus(false, res, raw), RetryAfter: podRetryHint,
			Err: attemptFailed(job, int(job.Status.Failed), reason)}, nil
	}
	if reported > 0 {
		// Still retrying after a reported failure: the error stays until the Job ends.
		return Outcome{Phase: Running, Err: attemptFailed(job, reported, job.Annotations[LastFailureAnnotation])}, nil
	}
	return r.running(ctx, job)
}

// maxReasonLen bounds the failure reason kept in a Job annotation.
const maxReasonLen = 1024

func attemptFailed(job *batchv1.Job, n int, reason string) error {
	return fmt.Errorf("mover attempt %d of %d failed (retrying): %s", n, ptr.Deref(job.Spec.BackoffLimit, 0)+1, reason)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// failedJob reports a Job that ran out of pod retries and replaces it once its delay passed.
func (r Runner) failedJob(ctx context.Context, s Spec, job *batchv1.Job, failedJobs int) (Outcome, error) {
	if givingUp(s, job, failedJobs) {
		return r.gaveUp(ctx, s, job, failedJobs)
	}
	res, raw := r.podResult(ctx, job, corev1.PodFailed)
	reason := ErrorText(res, raw)
	failedAt := job.CreationTimestamp.Time
	if c := condition(job, batchv1.JobFailed); c != nil {
		failedAt = c.LastTransitionTime.Time
	}
	delay := RetryDelay(failedJobs + 1)
	retryAt := failedAt.Add(delay)
	now := r.Clock.Now()
	// The successor starts with one more failed Job and a fresh start timeout (this Job did
	// get pods).
	next := counts{failed: failedJobs + 1, waited: annotationInt(job, WaitedJobsAnnotation)}
	if job.Annotations[JobFailureReportedAnnotation] != "true" {
		r.Events.Warning(job, events.ReasonTransferFailed, events.ActionDeleteMover,
			"mover Job failed after %d attempts: %s; a new Job starts in %s", job.Status.Failed, reason, delay)
		// The successor's counts go with the report, so the replacement needs no extra write.
		kv := next.successorAnnotations()
		kv[JobFailureReportedAnnotation] = "true"
		if err := r.annotate(ctx, job, kv); err != nil {
			return Outcome{}, err
		}
	}
	if now.Before(retryAt) {
		return Outcome{Phase: Failed, Result: res, MoverStatus: MoverStatus(false, res, raw), RetryAfter: retryAt.Sub(now),
			Err: fmt.Errorf("mover Job %s failed (%d failed Jobs in this synchronization): %s; next attempt at %s",
				job.Name, failedJobs+1, reason, retryAt.UTC().Format(time.RFC3339))}, nil
	}
	log.FromContext(ctx).Info("Replacing failed mover Job", "job", job.Name, "failedJobs", failedJobs+1)
	// A failed Job's pods ended at least JobRetryBase ago and the Job controller has finished
	// tracking them (it sets Failed only then), so the name can be reused at once.
	return r.replace(ctx, s, job, next)
}

// waitingJob reports a Job whose mover waits for something (res.Error) and replaces it once
// its delay passed: WaitRetryBase doubled per waiting Job of the synchronization. It is not a
// failure: no Warning event, no error; the condition says what it waits for.
func (r Runner) waitingJob(ctx context.Context, s Spec, job *batchv1.Job, res *Result) (Outcome, error) {
	c := readCounts(job, countKeys)
	doneAt := job.CreationTimestamp.Time
	if cond := condition(job, batchv1.JobComplete); cond != nil {
		doneAt = cond.LastTransitionTime.Time
	}
	retryAt := doneAt.Add(doubled(WaitRetryBase, c.waited))
	now := r.Clock.Now()
	// latestMoverStatus is left as it was: a run that waited moved nothing (the condition says
	// what it waits for).
	if now.Before(retryAt) {
		return Outcome{Phase: Waiting, RetryAfter: retryAt.Sub(now),
			Waiting: fmt.Sprintf("%s; looking again at %s", res.Error, retryAt.UTC().Format(time.RFC3339))}, nil
	}
	log.FromContext(ctx).Info("Replacing waiting mover Job", "job", job.Name, "waitedJobs", c.waited+1)
	// A fresh start timeout: this Job did get a pod.
	return r.replace(ctx, s, job, counts{failed: c.failed, waited: c.waited + 1})
}

// replace deletes a failed or stalled Job and creates its successor, which carries the counts
// of the synchronization. They are written on the old Job first (unless already there): when
// something keeps the old Job (a finalizer), the create finds the name taken, and a later
// reconcile creates the successor with the counts read from the lingering Job, or remembered
// once it is gone.
func (r Runner) replace(ctx context.Context, s Spec, job *batchv1.Job, next counts) (Outcome, error) {
	if have, _ := successorCounts(job); have != next {
		if err := r.annotate(ctx, job, next.successorAnnotations()); err != nil {
			return Outcome{}, err
		}
	}
	if err := r.delete(ctx, job, metav1.DeletePropagationBackground); err != nil {
		return Outcome{}, err
	}
	return r.create(ctx, s, next)
}

// stalled replaces a Job that has had no pod for its start timeout, reporting it. A stalled
// Job has no pods, so its name can be reused at once (which carries the counts).
func (r Runner) stalled(ctx context.Context, s Spec, job *batchv1.Job, failedJobs int) (Outcome, bool, error) {
	stalls := annotationInt(job, StalledJobsAnnotation)
	timeout := StartTimeout(stalls)
	if !noPod(job) {
		return Outcome{}, false, nil
	}
	if age := r.Clock.Since(created(job)); age < timeout {
		if stalls == 0 {
			return Outcome{}, false, nil
		}
		// Keep the problem visible while the replacement has no pod either.
		return Outcome{Phase: Running, RetryAfter: timeout - age, Err: stalledError(job.Name, stalls)}, true, nil
	}
	pods := &corev1.PodList{}
	if err := r.APIReader.List(ctx, pods, client.InNamespace(job.Namespace),
		client.MatchingLabels{batchv1.ControllerUidLabel: string(job.UID)}); err != nil {
		return Outcome{}, false, fmt.Errorf("listing pods of Job %s: %w", job.Name, err)
	}
	if len(pods.Items) > 0 {
		return Outcome{}, false, nil // the Job controller has not counted them yet
	}
	log.FromContext(ctx).Info("Replacing mover Job that never got a pod", "job", job.Name, "timeout", timeout)
	r.Events.Warning(job, events.ReasonTransferFailed, events.ActionDeleteMover,
		"mover Job got no pod in %s (see the Job's events: pod creation refused?); replacing it", timeout)
	o, err := r.replace(ctx, s, job, counts{failed: failedJobs, stalled: stalls + 1, waited: annotationInt(job, WaitedJobsAnnotation)})
	if err != nil {
		return Outcome{}, true, err
	}
	o.Err = stalledError(job.Name, stalls+1)
	o.RetryAfter = StartTimeout(stalls + 1)
	return o, true, nil
}

// stalledError is the condition message while the n-th replacement of a stalled Job has no
// pod (the same text until it gets one, so the condition and its event do not churn).
func stalledError(name string, n int) error {
	return fmt.Errorf("mover Job %s got no pod in %s and was replaced (%d time(s) in this synchronization); "+
		"see the Job's events: is pod creation refused (quota, pod security)?", name, StartTimeout(n-1), n)
}

// noPod reports whether a running Job has no pod at all: none active (pending pods count),
// none finished. A paused Job (parallelism 0) is not expected to have one.
func noPod(job *batchv1.Job) bool {
	return ptr.Deref(job.Spec.Parallelism, 1) > 0 && job.Status.Active == 0 && ptr.Deref(job.Status.Ready, 0) == 0 &&
		job.Status.Succeeded == 0 && job.Status.Failed == 0 && ptr.Deref(job.Status.Terminating, 0) == 0
}

// created is when the Job was created: by the controller's clock when it says so.
func created(job *batchv1.Job) time.Time {
	if t, err := time.Parse(time.RFC3339, job.Annotations[CreatedAnnotation]); err == nil {
		return t
	}
	return job.CreationTimestamp.Time
}

// StartTimeout is how long the Job that follows n stalled Jobs may go without a pod.
func StartTimeout(n int) time.Duration { return doubled(JobStartTimeout, n) }

// RetryDelay is the wait before the Job that follows the n-th failed Job (n >= 1).
func RetryDelay(n int) time.Duration { return doubled(JobRetryBase, n-1) }

// doubled is base doubled n times, capped at JobRetryCap.
func doubled(base time.Duration, n int) time.Duration {
	d := base
	for i := 0; i < n && d < JobRetryCap; i++ {
		d *= 2
	}
	return min(d, JobRetryCap)
}

// create places a new Job (see place) and creates it with the counts of the synchronization.
func (r Runner) create(ctx context.Context, s Spec, c counts) (Outcome, error) {
	if err := r.place(ctx, &s); err != nil {
		return Outcome{}, err
	}
	job := Build(s)
	maps.Copy(job.Annotations, c.annotations(countKeys))
	now := r.Clock.Now()
	job.Annotations[CreatedAnnotation] = now.UTC().Format(time.RFC3339)
	if err := controllerutil.SetControllerReference(s.Owner, job, r.Client.Scheme()); err != nil {
		return Outcome{}, err
	}
	key := r.successorKey(s)
	log.FromContext(ctx).Info("Creating mover Job", "job", job.Name)
	if err := r.Client.Create(ctx, job); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// The previous Job is still being removed; its deletion event wakes us, and the
			// counts wait for the name to be free.
			if c != (counts{}) {
				r.pending().remember(key, c, now)
			}
			return Outcome{Phase: Running, RetryAfter: podRetryHint}, nil
		}
		return Outcome{}, fmt.Errorf("creating Job %s: %w", job.Name, err)
	}
	r.pending().forget(key)
	if r.StartedNote != "" {
		r.Events.Normal(job, events.ReasonTransferStarted, events.ActionCreateMover, r.StartedNote, events.KindName("Job", job.Name))
	}
	return Outcome{Phase: Running}, nil
}

func (r Runner) delete(ctx context.Context, job *batchv1.Job, propagation metav1.DeletionPropagation) error {
	err := r.Client.Delete(ctx, job, client.PropagationPolicy(propagation),
		client.Preconditions{UID: &job.UID})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting Job %s: %w", job.Name, err)
	}
	return nil
}

func (r Runner) annotate(ctx context.Context, job *batchv1.Job, kv map[string]string) error {
	patch := client.MergeFrom(job.DeepCopy())
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	maps.Copy(job.Annotations, kv)
	if err := r.Client.Patch(ctx, job, patch); err != nil {
		return fmt.Errorf("annotating Job %s: %w", job.Name, err)
	}
	return nil
}

// podResult reads the termination message of the Job's newest pod in the given phase.
func (r Runner) podResult(ctx context.Context, job *batchv1.Job, phase corev1.PodPhase) (*Result, string) {
	pods := &corev1.PodList{}
	if err := r.APIReader.List(ctx, pods, client.InNamespace(job.Namespace),
		client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		log.FromContext(ctx).Info("Cannot read mover pods", "job", job.Name, "error", err.Error())
		return nil, ""
	}
	items := pods.Items
	sort.Slice(items, func(i, j int) bool { return items[i].CreationTimestamp.After(items[j].CreationTimestamp.Time) })
	for _, p := range items {
		// A replaced Job's pods may linger (background deletion) under the same Job name.
		if uid, ok := p.Labels[batchv1.ControllerUidLabel]; p.Status.Phase != phase || ok && uid != string(job.UID) {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil {
				if res, raw := ParseResult(t.Message); res != nil || raw != "" {
					return res, raw
				}
				if t.Reason != "" {
					return nil, fmt.Sprintf("%s (exit code %d)", t.Reason, t.ExitCode)
				}
			}
		}
	}
	return nil, ""
}

func condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == t && job.Status.Conditions[i].Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

func finished(job *batchv1.Job, t batchv1.JobConditionType) bool {
	return condition(job, t) != nil
}

func annotationInt(job *batchv1.Job, key string) int {
	n, _ := strconv.Atoi(job.Annotations[key])
	return n
}
