package rsynctls

import (
	"context"
	"errors"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/cleanup"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/pit"
)

// ErrNoAddress is returned when a source has no destination address.
var ErrNoAddress = errors.New("spec.rsyncTLS.address is required: set it to the destination's status.rsyncTLS.address")

type source struct {
	base
	rs   *v1alpha1.ReplicationSource
	spec *v1alpha1.ReplicationSourceRsyncTLSSpec
}

// Synchronize copies the source volume (point in time) and runs the client Job.
func (s *source) Synchronize(ctx context.Context) (mover.Result, error) {
	if s.spec.Address == nil || *s.spec.Address == "" {
		return mover.Result{}, ErrNoAddress
	}
	keys, generated, err := ensureKeySecret(ctx, s.env.Client, s.env.Users, s.rs, s.spec.KeySecret)
	if err != nil {
		return mover.Result{}, err
	}
	s.setKeyStatus(keys, generated)

	pvc, wait, err := s.pit.SourceCopy(ctx, s.spec.ReplicationSourceVolumeOptions, s.rs.Spec.SourcePVC)
	if err != nil {
		return mover.Result{}, err
	}
	if pvc == nil {
		return s.waiting(wait)
	}
	done, res, err := s.runJob(ctx, s.moverJob(keys, pvc), &s.rs.Status.LatestMoverStatus)
	if !done || err != nil {
		return withHint(res, wait), err
	}
	return mover.Done(), nil
}

// moverJob is the client Job reading pvc with the PSK of Secret keys.
func (s *source) moverJob(keys string, pvc *corev1.PersistentVolumeClaim) job {
	port := DefaultPort
	if s.spec.Port != nil {
		port = *s.spec.Port
	}
	return job{
		args: []string{"client"},
		env: []corev1.EnvVar{
			{Name: envAddress, Value: ptr.Deref(s.spec.Address, "")},
			{Name: envPort, Value: strconv.Itoa(int(port))},
		},
		keys: keys, data: &jobs.Data{PVC: pvc, ReadOnly: readOnly(pvc)}, config: &s.spec.MoverConfig,
		paused: s.rs.Spec.Paused, direct: direct(s.spec.CopyMethod), userSA: s.spec.MoverServiceAccount,
	}
}

func (s *source) setKeyStatus(name string, generated bool) {
	if !generated {
		if s.rs.Status.RsyncTLS != nil {
			s.rs.Status.RsyncTLS.KeySecret = nil
		}
		return
	}
	if s.rs.Status.RsyncTLS == nil {
		s.rs.Status.RsyncTLS = &v1alpha1.ReplicationSourceRsyncTLSStatus{}
	}
	if s.rs.Status.RsyncTLS.KeySecret == nil || *s.rs.Status.RsyncTLS.KeySecret != name {
		s.rs.Status.RsyncTLS.KeySecret = &name
	}
}

func (s *source) waiting(w *pit.Wait) (mover.Result, error) {
	if w.Failed {
		s.rs.Status.LatestMoverStatus = &v1alpha1.MoverStatus{Result: v1alpha1.MoverResultFailed, Logs: w.Message}
		return mover.Result{}, retry(errors.New(w.Message), w.RequeueAfter)
	}
	return mover.Pending(w.RequeueAfter), nil
}

// Cleanup removes the Job and the point-in-time copy.
func (s *source) Cleanup(ctx context.Context) (mover.Result, error) {
	done, err := cleanup.Temporary(ctx, s.env.Client, s.rs, kinds.TemporaryLists()...)
	if err != nil {
		return mover.Result{}, err
	}
	if !done {
		return mover.Pending(waitRetry), nil
	}
	return mover.Done(), nil
}

// withHint adds a volume's not-bound warning deadline to a pending result.
func withHint(res mover.Result, w *pit.Wait) mover.Result {
	if w != nil && w.RequeueAfter > 0 && (res.RetryAfter == 0 || w.RequeueAfter < res.RetryAfter) {
		res.RetryAfter = w.RequeueAfter
	}
	return res
}

func direct(m v1alpha1.CopyMethodType) bool {
	return m == v1alpha1.CopyMethodDirect || m == v1alpha1.CopyMethodNone
}

// readOnly mounts a source read-only when it can only be mounted so.
func readOnly(pvc *corev1.PersistentVolumeClaim) bool {
	modes := pvc.Status.AccessModes
	if len(modes) == 0 {
		modes = pvc.Spec.AccessModes
	}
	return len(modes) == 1 && modes[0] == corev1.ReadOnlyMany
}

func retry(err error, after time.Duration) error {
	return mover.Retry(err, after)
}
