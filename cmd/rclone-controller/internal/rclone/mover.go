package rclone

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// side is what both directions share: the spec.rclone fields and the Job they make.
type side struct {
	jobmover.Side
	spec *v1alpha1.RcloneSpec
}

type source struct {
	side
	rs   *v1alpha1.ReplicationSource
	opts v1alpha1.ReplicationSourceVolumeOptions
}

// Synchronize checks the configuration, copies the source volume (point in time) and runs
// the Job that pushes it to the remote path.
func (s *source) Synchronize(ctx context.Context) (mover.Result, error) {
	j, err := s.job(ctx, directionSource, s.rs.Spec.Paused, s.opts.CopyMethod)
	if err != nil {
		return mover.Result{}, err
	}
	return s.Source(ctx, s.opts, s.rs.Spec.SourcePVC,
		func(*corev1.PersistentVolumeClaim) (jobmover.Job, error) { return j, nil })
}

type destination struct {
	side
	rd   *v1alpha1.ReplicationDestination
	opts v1alpha1.ReplicationDestinationVolumeOptions
}

// Synchronize checks the configuration, prepares the volume, runs the Job that pulls the
// remote path into it, then makes the image. A remote path no source has written yet makes
// the mover wait (result.OutcomeWaiting): reported in the condition, looked at again later.
func (d *destination) Synchronize(ctx context.Context) (mover.Result, error) {
	j, err := d.job(ctx, directionDestination, d.rd.Spec.Paused, d.opts.CopyMethod)
	if err != nil {
		return mover.Result{}, err
	}
	return d.Destination(ctx, jobmover.Destination{
		Options: d.opts,
		Job:     func(*corev1.PersistentVolumeClaim) (jobmover.Job, error) { return j, nil },
	})
}

// Cleanup removes the Job and temporaries and releases the destination PVC's snapshot name.
func (d *destination) Cleanup(ctx context.Context) (mover.Result, error) {
	return d.CleanupDestination(ctx, d.opts)
}
