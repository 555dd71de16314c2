package jobs

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/volsync-go/volsync/pkg/common/events"
)

// ResumeKeyAnnotation holds Spec.ResumeKey on a Job: a Job that gave up is replaced only when
// the configuration's key differs from it.
const ResumeKeyAnnotation = "volsync.backube/resume-key"

// GiveUpAction is what the user is told to do when the Runner gave up on a mover.
const GiveUpAction = "fix what the error says, then change the object (e.g. spec.trigger.manual) or the Secret it " +
	"names; a new mover Job starts at once after a change of the object, within 30 minutes after a change of the Secret"

// givingUp reports whether job is a Job the Runner no longer replaces: it failed fast (its
// pod failure policy matched, Spec.FailFast) as the GiveUpAfter-th failed Job of the
// synchronization.
func givingUp(s Spec, job *batchv1.Job, failedJobs int) bool {
	if s.GiveUpAfter <= 0 || failedJobs+1 < s.GiveUpAfter {
		return false
	}
	c := condition(job, batchv1.JobFailed)
	return c != nil && c.Reason == batchv1.JobReasonPodFailurePolicy
}

// gaveUp reports a Job given up on (once, with a Warning event), or, when the configuration
// changed since (ResumeKey), replaces it with a Job that starts the count afresh.
func (r Runner) gaveUp(ctx context.Context, s Spec, job *batchv1.Job, failedJobs int) (Outcome, error) {
	if job.Annotations[ResumeKeyAnnotation] != s.ResumeKey {
		log.FromContext(ctx).Info("Configuration changed since the mover gave up; starting a new Job", "job", job.Name)
		return r.replace(ctx, s, job, counts{})
	}
	res, raw := r.podResult(ctx, job, corev1.PodFailed)
	reason := ErrorText(res, raw)
	if job.Annotations[JobFailureReportedAnnotation] != "true" {
		r.Events.Warning(job, events.ReasonTransferFailed, events.ActionSynchronize,
			"mover Job failed: %s; %d Jobs failed this way, no new Job starts until the configuration changes",
			reason, failedJobs+1)
		if err := r.annotate(ctx, job, map[string]string{JobFailureReportedAnnotation: "true"}); err != nil {
			return Outcome{}, err
		}
	}
	return Outcome{Phase: Failed, GaveUp: true, Result: res, MoverStatus: MoverStatus(false, res, raw),
		Err: fmt.Errorf("mover gave up after %d failed Jobs: %s", failedJobs+1, reason)}, nil
}
