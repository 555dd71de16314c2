package rsync

import (
	"context"
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	rsynccontract "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

// ErrNoAddress is returned when a source has no destination address.
var ErrNoAddress = errors.New("spec.rsync.address is required")

type source struct {
	jobmover.Side
	rs   *v1alpha1.ReplicationSource
	spec *v1alpha1.ReplicationSourceRsyncSpec
}

// Synchronize copies the source volume (point in time) and runs the rsync push Job.
func (s *source) Synchronize(ctx context.Context) (mover.Result, error) {
	if ptr.Deref(s.spec.Address, "") == "" {
		return mover.Result{}, mover.ActionRequired(ErrNoAddress,
			"set it to the destination's status.rsync.address, or to the host name of an ssh server")
	}
	keys, publish, err := ensureKeys(ctx, s.Env, s.rs, naming.Source, s.spec.SSHKeys)
	if err != nil {
		return mover.Result{}, err
	}
	if publish != "" || s.rs.Status.Rsync != nil {
		if s.rs.Status.Rsync == nil {
			s.rs.Status.Rsync = &v1alpha1.ReplicationSourceRsyncStatus{}
		}
		jobmover.Publish(&s.rs.Status.Rsync.SSHKeys, publish)
	}
	return s.Source(ctx, s.spec.ReplicationSourceVolumeOptions, s.rs.Spec.SourcePVC,
		func(*corev1.PersistentVolumeClaim) (jobmover.Job, error) { return s.moverJob(keys), nil })
}

// moverJob is the push Job using the keys of Secret keys.
func (s *source) moverJob(keys string) jobmover.Job {
	env := []corev1.EnvVar{
		{Name: contract.EnvDestinationAddress, Value: ptr.Deref(s.spec.Address, "")},
		portEnv(contract.EnvDestinationPort, ptr.Deref(s.spec.Port, rsynccontract.DefaultPort)),
		{Name: rsynccontract.EnvSSHUser, Value: ptr.Deref(s.spec.SSHUser, rsynccontract.DefaultUser)},
	}
	if p := destinationPath(s.spec.Path); p != rsynccontract.DefaultPath {
		env = append(env, corev1.EnvVar{Name: rsynccontract.EnvDestinationPath, Value: p})
	}
	o := podOptions{serviceAccount: s.spec.MoverServiceAccount, labels: s.spec.MoverPodLabels, resources: s.spec.MoverResources}
	return moverJob("source", keys, sourceKeys, env, o, s.rs.Spec.Paused, s.spec.CopyMethod)
}

// destinationPath is where the data goes on the destination, relative to its volume (or the
// ssh user's home on an external server): spec.rsync.path without leading slashes, "." for
// the volume's root (the default, "/").
func destinationPath(p *string) string {
	v := strings.TrimLeft(ptr.Deref(p, ""), "/")
	if v == "" {
		return rsynccontract.DefaultPath
	}
	return v
}
