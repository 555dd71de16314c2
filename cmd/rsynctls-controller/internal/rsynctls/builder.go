package rsynctls

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

const (
	// Name is the mover's name: the method label of metrics and the Job name prefix.
	Name = "rsync-tls"
	// DefaultPort is where the destination listens and the source connects by default.
	DefaultPort   int32 = 8000
	containerName       = "rsync-tls"
	keysVolume          = "keys"
	keysMountPath       = contract.KeysDir
)

// kind is the rsync-TLS mover for the Job skeleton. A privileged rsync needs these
// capabilities to keep ownership and permissions.
var kind = jobmover.Kind{
	Name: Name, Container: containerName, Component: "rsync-tls-mover",
	PrivilegedCaps: []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID"},
}

// Builder plugs the rsync-TLS mover into the shared reconcilers.
type Builder struct {
	// Image is the mover image.
	Image string
}

var _ mover.Builder = Builder{}

// Name implements mover.Builder.
func (Builder) Name() string { return Name }

// HandlesSource implements mover.Builder.
func (Builder) HandlesSource(rs *v1alpha1.ReplicationSource) bool { return rs.Spec.RsyncTLS != nil }

// HandlesDestination implements mover.Builder.
func (Builder) HandlesDestination(rd *v1alpha1.ReplicationDestination) bool {
	return rd.Spec.RsyncTLS != nil
}

// FromSource implements mover.Builder.
func (b Builder) FromSource(env mover.Env, rs *v1alpha1.ReplicationSource) (mover.Mover, error) {
	if rs.Spec.RsyncTLS == nil {
		return nil, fmt.Errorf("%s has no rsyncTLS block", rs.Name)
	}
	if rs.Status == nil {
		rs.Status = &v1alpha1.ReplicationSourceStatus{}
	}
	return &source{Side: jobmover.NewSide(kind, b.Image, env, rs, naming.Source), rs: rs, spec: rs.Spec.RsyncTLS}, nil
}

// FromDestination implements mover.Builder.
func (b Builder) FromDestination(env mover.Env, rd *v1alpha1.ReplicationDestination) (mover.Mover, error) {
	if rd.Spec.RsyncTLS == nil {
		return nil, fmt.Errorf("%s has no rsyncTLS block", rd.Name)
	}
	if rd.Status == nil {
		rd.Status = &v1alpha1.ReplicationDestinationStatus{}
	}
	return &destination{Side: jobmover.NewSide(kind, b.Image, env, rd, naming.Destination), rd: rd, spec: rd.Spec.RsyncTLS}, nil
}

// keyFileMode is the mode of the PSK file in the mover pod: readable by everyone. The kubelet
// makes Secret files owned by root (group fsGroup when the pod has one), and the mover runs as
// uid 65534 or the user's runAsUser, without an fsGroup on the source (an fsGroup would make the
// kubelet re-group the user's volume), so an owner-only mode left the source unable to read its
// key. "Everyone" is only the pod: the volume is private to the mover pod, whose one process is
// the mover, and the mover copies the key with mode 0600 into its TMPDIR for stunnel.
const keyFileMode int32 = 0o444

// moverJob is one side's Job: mode ("client" or "server") with env, the PSK of Secret keys.
func moverJob(mode, keys string, env []corev1.EnvVar, cfg *v1alpha1.MoverConfig, paused bool,
	copyMethod v1alpha1.CopyMethodType, sa *string) jobmover.Job {
	return jobmover.Job{
		Args: []string{mode}, Env: env,
		Volumes: []corev1.Volume{{Name: keysVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: keys, DefaultMode: ptr.To(keyFileMode), Items: []corev1.KeyToPath{{Key: PSKKey, Path: PSKKey}},
		}}}},
		Mounts: []corev1.VolumeMount{{Name: keysVolume, MountPath: keysMountPath, ReadOnly: true}},
		Config: cfg, Paused: paused, CopyMethod: copyMethod, ServiceAccount: sa,
	}
}
