package rsynctls

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/rbac"
	"github.com/volsync-go/volsync/pkg/pit"
)

// Contract with the mover image (images/rsync-tls).
const (
	// Name is the mover's name: the method label of metrics and the Job name prefix.
	Name = "rsync-tls"
	// DefaultPort is where the destination listens and the source connects by default.
	DefaultPort    int32 = 8000
	containerName        = "rsync-tls"
	keysVolume           = "keys"
	keysMountPath        = "/keys"
	envAddress           = "DESTINATION_ADDRESS"
	envPort              = "DESTINATION_PORT"
	envListenPort        = "LISTEN_PORT"
	componentLabel       = "app.kubernetes.io/component"
	partOfLabel          = "app.kubernetes.io/part-of"
	nameLabel            = "app.kubernetes.io/name"
	component            = "rsync-tls-mover"
	// waitRetry is how soon a step that waits on something without a watch looks again.
	waitRetry = 30 * time.Second
)

// privilegedCaps are what a privileged rsync needs to keep ownership and permissions.
var privilegedCaps = []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID"}

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
	return &source{base: b.base(env, rs, naming.Source), rs: rs, spec: rs.Spec.RsyncTLS}, nil
}

// FromDestination implements mover.Builder.
func (b Builder) FromDestination(env mover.Env, rd *v1alpha1.ReplicationDestination) (mover.Mover, error) {
	if rd.Spec.RsyncTLS == nil {
		return nil, fmt.Errorf("%s has no rsyncTLS block", rd.Name)
	}
	if rd.Status == nil {
		rd.Status = &v1alpha1.ReplicationDestinationStatus{}
	}
	return &destination{base: b.base(env, rd, naming.Destination), rd: rd, spec: rd.Spec.RsyncTLS}, nil
}

// base is what both sides share.
type base struct {
	env   mover.Env
	image string
	owner client.Object
	role  naming.Role
	pit   pit.Handler
	jobs  jobs.Runner
}

func (b Builder) base(env mover.Env, owner client.Object, role naming.Role) base {
	note := "starting %s to transmit data"
	if role == naming.Destination {
		note = "starting %s to receive data"
	}
	return base{
		env: env, image: b.Image, owner: owner, role: role,
		pit: pit.Handler{Client: env.Client, Users: env.Users, Owner: owner, Events: env.Events, Clock: env.Clock},
		jobs: jobs.Runner{Client: env.Client, APIReader: env.APIReader, Users: env.Users, Pods: env.Client,
			Events: env.Events, Clock: env.Clock, StartedNote: note},
	}
}

func (b base) jobName() string { return naming.Job(Name, b.role, b.owner.GetName()) }

// podLabels select the mover pod (the destination Service uses them).
func (b base) podLabels() map[string]string {
	return map[string]string{
		nameLabel:      naming.AppName(b.role, b.owner.GetName()),
		componentLabel: component,
		partOfLabel:    "volsync",
	}
}

func (b base) debug() bool {
	_, ok := b.owner.GetAnnotations()[v1alpha1.EnableDebugMoverAnnotation]
	return ok
}

// keyFileMode is the mode of the PSK file in the mover pod: readable by everyone. The kubelet
// makes Secret files owned by root (group fsGroup when the pod has one), and the mover runs as
// uid 65534 or the user's runAsUser, without an fsGroup on the source (an fsGroup would make the
// kubelet re-group the user's volume), so an owner-only mode left the source unable to read its
// key. "Everyone" is only the pod: the volume is private to the mover pod, whose one process is
// the mover, and the mover copies the key with mode 0600 into its TMPDIR for stunnel.
const keyFileMode int32 = 0o444

// keyVolume mounts the PSK Secret read-only at /keys, readable by the mover whatever its uid.
func keyVolume(secret string) (corev1.Volume, corev1.VolumeMount) {
	return corev1.Volume{Name: keysVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret, DefaultMode: ptr.To(keyFileMode), Items: []corev1.KeyToPath{{Key: PSKKey, Path: PSKKey}},
		}}},
		corev1.VolumeMount{Name: keysVolume, MountPath: keysMountPath, ReadOnly: true}
}

// job describes one side's mover Job.
type job struct {
	args   []string
	env    []corev1.EnvVar
	keys   string
	data   *jobs.Data
	config *v1alpha1.MoverConfig
	paused bool
	direct bool
	// writable: the mover writes the data volume (destination).
	writable bool
	// userSA is the user's moverServiceAccount, if any.
	userSA *string
}

// runJob ensures the mover's ServiceAccount and Job and reports the Job's progress, publishing
// latestMoverStatus into *status.
func (b base) runJob(ctx context.Context, j job, status **v1alpha1.MoverStatus) (bool, mover.Result, error) {
	sa, err := rbac.MoverServiceAccount(ctx, b.env.Client, b.env.Users, b.owner, b.role, j.userSA, rbac.WithPullSecrets(b.env.PullSecrets, b.env.Events))
	if err != nil {
		return false, mover.Result{}, err
	}
	o, err := b.jobs.Run(ctx, b.jobSpec(j, sa))
	if err != nil {
		return false, mover.Result{}, err
	}
	return finish(o, status)
}

// jobSpec is the mover Job of one side, running as ServiceAccount sa.
func (b base) jobSpec(j job, sa string) jobs.Spec {
	kv, km := keyVolume(j.keys)
	return jobs.Spec{
		Name: b.jobName(), Owner: b.owner, Container: containerName, Image: b.image, Args: j.args, Env: j.env,
		ServiceAccount: sa, Paused: j.paused, Privileged: b.env.Privileged, PrivilegedCaps: privilegedCaps,
		Data: j.data, WritableData: j.writable, Volumes: []corev1.Volume{kv}, Mounts: []corev1.VolumeMount{km},
		Config: j.config, Labels: b.podLabels(), Debug: b.debug(), Direct: j.direct,
	}
}

// finish turns a Job outcome into a mover result, publishing latestMoverStatus.
func finish(o jobs.Outcome, status **v1alpha1.MoverStatus) (done bool, res mover.Result, err error) {
	if o.MoverStatus != nil {
		*status = o.MoverStatus
	}
	switch o.Phase {
	case jobs.Succeeded:
		return true, mover.Result{}, nil
	case jobs.Failed:
		return false, mover.Result{}, retry(o.Err, o.RetryAfter)
	}
	if o.Err != nil {
		return false, mover.Result{}, retry(o.Err, o.RetryAfter)
	}
	return false, mover.Pending(o.RetryAfter), nil
}
