package rsync

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	rsynccontract "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

const (
	// Name is the mover's name: the method label of metrics and the Job name prefix.
	Name          = "rsync"
	containerName = "rsync"
	keysVolume    = "keys"
	// keyFileMode: the key files are readable by the mover whatever its uid (the kubelet makes
	// them root's; an unprivileged source has no fsGroup). The volume is private to the mover
	// pod, and the mover copies what it uses with mode 0600 into its TMPDIR for ssh and sshd.
	keyFileMode int32 = 0o444
)

// kind is the rsync (ssh) mover for the Job skeleton. A privileged mover keeps ownership and
// runs sshd as root, which needs the reference's capabilities, plus FSETID so that rsync keeps
// setuid and setgid bits of files it gives another owner.
var kind = jobmover.Kind{
	Name: Name, Container: containerName, Component: "rsync-mover",
	PrivilegedCaps: []corev1.Capability{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID", "SYS_CHROOT"},
}

// Builder plugs the rsync (ssh) mover into the shared reconcilers.
type Builder struct {
	// Image is the mover image.
	Image string
}

var _ mover.Builder = Builder{}

// Name implements mover.Builder.
func (Builder) Name() string { return Name }

// HandlesSource implements mover.Builder.
func (Builder) HandlesSource(rs *v1alpha1.ReplicationSource) bool { return rs.Spec.Rsync != nil }

// HandlesDestination implements mover.Builder.
func (Builder) HandlesDestination(rd *v1alpha1.ReplicationDestination) bool {
	return rd.Spec.Rsync != nil
}

// FromSource implements mover.Builder.
func (b Builder) FromSource(env mover.Env, rs *v1alpha1.ReplicationSource) (mover.Mover, error) {
	if rs.Spec.Rsync == nil {
		return nil, fmt.Errorf("%s has no rsync block", rs.Name)
	}
	if rs.Status == nil {
		rs.Status = &v1alpha1.ReplicationSourceStatus{}
	}
	return &source{Side: jobmover.NewSide(kind, b.Image, env, rs, naming.Source), rs: rs, spec: rs.Spec.Rsync}, nil
}

// FromDestination implements mover.Builder.
func (b Builder) FromDestination(env mover.Env, rd *v1alpha1.ReplicationDestination) (mover.Mover, error) {
	if rd.Spec.Rsync == nil {
		return nil, fmt.Errorf("%s has no rsync block", rd.Name)
	}
	if rd.Status == nil {
		rd.Status = &v1alpha1.ReplicationDestinationStatus{}
	}
	return &destination{Side: jobmover.NewSide(kind, b.Image, env, rd, naming.Destination), rd: rd, spec: rd.Spec.Rsync}, nil
}

// podOptions are the mover pod options spec.rsync has (it does not inline MoverConfig).
type podOptions struct {
	serviceAccount *string
	labels         map[string]string
	resources      *corev1.ResourceRequirements
}

// moverJob is one side's Job: mode ("source" or "destination") with env, mounting the keys
// of Secret keys.
func moverJob(mode, keys string, keyNames []string, env []corev1.EnvVar, o podOptions, paused bool, copyMethod v1alpha1.CopyMethodType) jobmover.Job {
	items := make([]corev1.KeyToPath, 0, len(keyNames))
	for _, k := range keyNames {
		items = append(items, corev1.KeyToPath{Key: k, Path: k})
	}
	return jobmover.Job{
		Args: []string{mode}, Env: env,
		Volumes: []corev1.Volume{{Name: keysVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: keys, DefaultMode: ptr.To(keyFileMode), Items: items,
		}}}},
		Mounts: []corev1.VolumeMount{{Name: keysVolume, MountPath: contract.KeysDir, ReadOnly: true}},
		Config: &v1alpha1.MoverConfig{MoverPodLabels: o.labels, MoverResources: o.resources},
		Paused: paused, CopyMethod: copyMethod, ServiceAccount: o.serviceAccount,
	}
}

func portEnv(name string, port int32) corev1.EnvVar {
	return corev1.EnvVar{Name: name, Value: strconv.Itoa(int(port))}
}

// listenPort is where the destination's sshd listens (the Service's targetPort).
const listenPort int32 = rsynccontract.ListenPort
