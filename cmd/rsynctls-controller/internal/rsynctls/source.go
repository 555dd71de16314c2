package rsynctls

import (
	"context"
	"errors"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// ErrNoAddress is returned when a source has no destination address.
var ErrNoAddress = errors.New("spec.rsyncTLS.address is required")

type source struct {
	jobmover.Side
	rs   *v1alpha1.ReplicationSource
	spec *v1alpha1.ReplicationSourceRsyncTLSSpec
}

// Synchronize copies the source volume (point in time) and runs the client Job.
func (s *source) Synchronize(ctx context.Context) (mover.Result, error) {
	if ptr.Deref(s.spec.Address, "") == "" {
		return mover.Result{}, mover.ActionRequired(ErrNoAddress, "set it to the destination's status.rsyncTLS.address")
	}
	keys, generated, err := ensureKeySecret(ctx, s.Env, s.rs, s.spec.KeySecret)
	if err != nil {
		return mover.Result{}, err
	}
	if generated || s.rs.Status.RsyncTLS != nil {
		if s.rs.Status.RsyncTLS == nil {
			s.rs.Status.RsyncTLS = &v1alpha1.ReplicationSourceRsyncTLSStatus{}
		}
		publishKeys(&s.rs.Status.RsyncTLS.KeySecret, keys, generated)
	}
	return s.Source(ctx, s.spec.ReplicationSourceVolumeOptions, s.rs.Spec.SourcePVC,
		func(*corev1.PersistentVolumeClaim) (jobmover.Job, error) { return s.moverJob(keys), nil })
}

// moverJob is the client Job with the PSK of Secret keys.
func (s *source) moverJob(keys string) jobmover.Job {
	port := ptr.Deref(s.spec.Port, DefaultPort)
	env := []corev1.EnvVar{
		{Name: contract.EnvDestinationAddress, Value: ptr.Deref(s.spec.Address, "")},
		{Name: contract.EnvDestinationPort, Value: strconv.Itoa(int(port))},
	}
	return moverJob("client", keys, env, &s.spec.MoverConfig, s.rs.Spec.Paused, s.spec.CopyMethod, s.spec.MoverServiceAccount)
}

// publishKeys shows the generated key Secret's name in status (nil for the user's own).
func publishKeys(field **string, name string, generated bool) {
	if !generated {
		name = ""
	}
	jobmover.Publish(field, name)
}
