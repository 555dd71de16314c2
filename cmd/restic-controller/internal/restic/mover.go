package restic

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	resticcontract "github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

type source struct {
	side
	rs   *v1alpha1.ReplicationSource
	spec *v1alpha1.ReplicationSourceResticSpec
}

// Synchronize copies the source volume (point in time), then runs the Job that backs it up,
// applies the retention policy and, as decided when the Job was created, unlocks and prunes
// the repository. On success status.restic records the unlock and a prune that ran.
func (s *source) Synchronize(ctx context.Context) (mover.Result, error) {
	d, err := s.Decisions(ctx, func() (map[string]string, error) {
		return sourceDecisions(s.spec, s.rs.Status.Restic, s.rs.CreationTimestamp.Time, s.Env.Clock.Now()), nil
	})
	if err != nil {
		return mover.Result{}, err
	}
	env := []corev1.EnvVar{{Name: resticcontract.EnvForgetOptions, Value: forgetOptions(s.spec.Retain)}}
	res, err := s.Source(ctx, s.spec.ReplicationSourceVolumeOptions, s.rs.Spec.SourcePVC,
		func(pvc *corev1.PersistentVolumeClaim) (jobmover.Job, error) {
			return s.job(ctx, sourceActions(d), env, d, s.rs.Spec.Paused, s.spec.CopyMethod, pvc)
		})
	s.forgetSecret(err)
	if err == nil && res.Completed {
		s.rs.Status.Restic = completedStatus(s.rs.Status.Restic, s.spec.Unlock, d, res.Details, s.Env.Clock.Now())
	}
	return res, err
}

type destination struct {
	side
	rd   *v1alpha1.ReplicationDestination
	spec *v1alpha1.ReplicationDestinationResticSpec
}

// Synchronize prepares the volume, runs the Job that restores the selected snapshot into it,
// then makes the image. A repository without snapshots restores nothing (successfully).
func (d *destination) Synchronize(ctx context.Context) (mover.Result, error) {
	res, err := d.Destination(ctx, jobmover.Destination{
		Options: d.spec.ReplicationDestinationVolumeOptions,
		Job: func(pvc *corev1.PersistentVolumeClaim) (jobmover.Job, error) {
			return d.job(ctx, []string{resticcontract.ActionRestore}, restoreEnv(d.spec), nil,
				d.rd.Spec.Paused, d.spec.CopyMethod, pvc)
		},
	})
	d.forgetSecret(err)
	return res, err
}

// Cleanup removes the Job and temporaries (the cache PVC too with cleanupCachePVC) and
// releases the destination PVC's snapshot name.
func (d *destination) Cleanup(ctx context.Context) (mover.Result, error) {
	return d.CleanupDestination(ctx, d.spec.ReplicationDestinationVolumeOptions)
}
