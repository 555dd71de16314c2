package jobmover

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/cleanup"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/rbac"
	"github.com/volsync-go/volsync/pkg/pit"
)

// CleanupRetry is how soon a cleanup that waits for deletions without a watch looks again.
const CleanupRetry = 30 * time.Second

// Kind is what a Job-based mover is, whatever the object.
type Kind struct {
	// Name is the mover's name: the Job name prefix (volsync-<Name>-src-<obj>) and the metrics'
	// method label.
	Name string
	// Container is the mover container's name.
	Container string
	// Component is the pod's app.kubernetes.io/component label (e.g. "rsync-mover").
	Component string
	// PrivilegedCaps are the capabilities a privileged mover gets (namespace opt-in).
	PrivilegedCaps []corev1.Capability
	// BlockSupported: the image handles Block data volumes (a device at /dev/block).
	BlockSupported bool
	// UsesProxy: the mover talks to the outside and gets the manager's proxy environment.
	UsesProxy bool
	// PlainJobNames: Jobs are named volsync-<src|dst>-<obj>, without the mover's name (restic,
	// as in the reference).
	PlainJobNames bool
	// ProvisionedSuffix ends the name of the destination PVC VolSync provisions,
	// volsync-<rd>-<suffix> (the reference's: "dst" for the rsync movers, the default, and
	// "dest" for rclone and restic).
	ProvisionedSuffix string
}

// Side is one object's mover: a ReplicationSource's or a ReplicationDestination's.
type Side struct {
	Kind
	// Image is the mover image.
	Image string
	Env   mover.Env
	Owner client.Object
	Role  naming.Role
	// PiT makes the point-in-time copies and the destination volume and image.
	PiT pit.Handler
	// Jobs runs the mover Job.
	Jobs jobs.Runner
}

// NewSide returns the Side of owner (a ReplicationSource when role is naming.Source).
func NewSide(k Kind, image string, env mover.Env, owner client.Object, role naming.Role) Side {
	note := "starting %s to transmit data"
	if role == naming.Destination {
		note = "starting %s to receive data"
	}
	return Side{
		Kind: k, Image: image, Env: env, Owner: owner, Role: role,
		PiT: pit.Handler{Client: env.Client, Users: env.Users, Owner: owner, Events: env.Events, Clock: env.Clock},
		Jobs: jobs.Runner{Client: env.Client, APIReader: env.APIReader, Users: env.Users, Pods: env.Client,
			Events: env.Events, Clock: env.Clock, StartedNote: note},
	}
}

// JobName is the mover Job's name (the reference's: volsync-<mover>-<src|dst>-<obj>, shortened).
func (s Side) JobName() string {
	if s.PlainJobNames {
		return naming.Job("", s.Role, s.Owner.GetName())
	}
	return naming.Job(s.Name, s.Role, s.Owner.GetName())
}

// PodLabels select the mover pod.
func (s Side) PodLabels() map[string]string {
	return jobs.PodLabels(naming.AppName(s.Role, s.Owner.GetName()), s.Component)
}

// Debug reports whether the object asks for a verbose mover (the debug annotation).
func (s Side) Debug() bool {
	_, ok := s.Owner.GetAnnotations()[v1alpha1.EnableDebugMoverAnnotation]
	return ok
}

// Job is what differs between movers' Jobs.
type Job struct {
	Args    []string
	Env     []corev1.EnvVar
	Volumes []corev1.Volume
	Mounts  []corev1.VolumeMount
	// Data is the volume the mover reads (source) or writes (destination).
	Data *jobs.Data
	// Config is the user's mover pod options (may be nil).
	Config *v1alpha1.MoverConfig
	Paused bool
	// CopyMethod of the object: Direct (or None) places the pod next to the data's users.
	CopyMethod v1alpha1.CopyMethodType
	// ServiceAccount is the user's moverServiceAccount, if any.
	ServiceAccount *string
	// Decisions are the per-synchronization decisions the Job was built from (Side.Decisions):
	// stored on the Job, so they hold until it ends.
	Decisions map[string]string
	// Tuning changes the Job's retries and the pod's host name.
	Tuning jobs.Tuning
}

// Mount adds a volume, where the mover sees it and the environment that points the mover at it
// (a custom CA bundle, a credentials file).
func (j *Job) Mount(v corev1.Volume, m corev1.VolumeMount, env ...corev1.EnvVar) {
	j.Volumes = append(j.Volumes, v)
	j.Mounts = append(j.Mounts, m)
	j.Env = append(j.Env, env...)
}

// PendingError is returned by a Job function that must wait for something VolSync makes (a
// volume being deleted) before the Job can be built: the step is pending, not failed.
type PendingError struct {
	What  string
	After time.Duration
}

func (e *PendingError) Error() string { return "waiting for " + e.What }

// Decisions returns the decisions frozen in the running Job, or those decide makes when no Job
// exists yet. A mover builds its Job from them and passes them in Job.Decisions.
func (s Side) Decisions(ctx context.Context, decide func() (map[string]string, error)) (map[string]string, error) {
	return s.Jobs.Decisions(ctx, s.Owner.GetNamespace(), s.JobName(), decide)
}

// Spec is the jobs.Spec of j, running as ServiceAccount sa.
func (s Side) Spec(j Job, sa string) jobs.Spec {
	spec := jobs.Spec{
		Name: s.JobName(), Owner: s.Owner, Container: s.Container, Image: s.Image, Args: j.Args, Env: j.Env,
		ServiceAccount: sa, Paused: j.Paused, Privileged: s.Env.Privileged, PrivilegedCaps: s.PrivilegedCaps,
		Data: j.Data, WritableData: s.Role == naming.Destination, Volumes: j.Volumes, Mounts: j.Mounts,
		Config: j.Config, Labels: s.PodLabels(), Debug: s.Debug(), Direct: Direct(j.CopyMethod),
		BlockSupported: s.BlockSupported, Decisions: j.Decisions, Tuning: j.Tuning,
	}
	if s.UsesProxy {
		spec.Proxy = s.Env.ProxyEnv
	}
	return spec
}

// Run ensures the mover's ServiceAccount and Job and reports the Job's progress: done when it
// succeeded. The result carries the run's latestMoverStatus and, once done, its transfer.
func (s Side) Run(ctx context.Context, j Job) (bool, mover.Result, error) {
	sa, err := rbac.MoverServiceAccount(ctx, s.Env.Client, s.Env.Users, s.Owner, s.Role, j.ServiceAccount,
		rbac.WithPullSecrets(s.Env.PullSecrets, s.Env.Events))
	if err != nil {
		return false, mover.Result{}, err
	}
	o, err := s.Jobs.Run(ctx, s.Spec(j, sa))
	if err != nil {
		return false, mover.Result{}, err
	}
	return Finish(o)
}

// Finish turns a Job outcome into a step result.
func Finish(o jobs.Outcome) (done bool, res mover.Result, err error) {
	res = mover.Result{MoverStatus: o.MoverStatus}
	switch {
	case o.Phase == jobs.Succeeded:
		if o.Result != nil {
			res.Transfer = &mover.Transfer{Bytes: o.Result.BytesSent, Files: o.Result.FilesTransferred}
			res.Details = o.Result.Details
		}
		return true, res, nil
	case o.GaveUp:
		return false, res, mover.ActionRequired(o.Err, jobs.GiveUpAction)
	case o.Phase == jobs.Failed || o.Err != nil:
		return false, res, mover.Retry(o.Err, o.RetryAfter)
	case o.Phase == jobs.Waiting:
		res.Waiting = o.Waiting
	}
	res.RetryAfter = o.RetryAfter
	return false, res, nil
}

// Source runs one synchronization of a ReplicationSource: the point-in-time copy of sourcePVC
// (opts.copyMethod), then the Job that job describes for it.
func (s Side) Source(ctx context.Context, opts v1alpha1.ReplicationSourceVolumeOptions, sourcePVC string,
	job func(*corev1.PersistentVolumeClaim) (Job, error)) (mover.Result, error) {
	pvc, wait, err := s.PiT.SourceCopy(ctx, opts, sourcePVC)
	if err != nil {
		return mover.Result{}, err
	}
	if pvc == nil {
		if wait.Failed {
			res := mover.Result{MoverStatus: &v1alpha1.MoverStatus{Result: v1alpha1.MoverResultFailed, Logs: wait.Message}}
			return res, mover.Retry(errors.New(wait.Message), wait.RequeueAfter)
		}
		return mover.Pending(wait.RequeueAfter), nil
	}
	j, err := job(pvc)
	if err != nil {
		return pending(err)
	}
	if j.Data == nil {
		j.Data = &jobs.Data{PVC: pvc, ReadOnly: ReadOnly(pvc)}
	}
	done, res, err := s.Run(ctx, j)
	if !done || err != nil {
		return WithHint(res, wait), err
	}
	res.Completed = true
	return res, nil
}

// pending turns a PendingError into a pending result; other errors stay errors.
func pending(err error) (mover.Result, error) {
	var p *PendingError
	if errors.As(err, &p) {
		return mover.Pending(p.After), nil
	}
	return mover.Result{}, err
}

// Cleanup removes the iteration's temporaries (the Job, point-in-time copies).
func (s Side) Cleanup(ctx context.Context) (mover.Result, error) {
	done, err := cleanup.Temporary(ctx, s.Env.Client, s.Owner, kinds.TemporaryLists()...)
	if err != nil {
		return mover.Result{}, err
	}
	if !done {
		return mover.Pending(CleanupRetry), nil
	}
	return mover.Done(), nil
}

// WithHint adds a volume's not-bound warning deadline to a pending result.
func WithHint(res mover.Result, w *pit.Wait) mover.Result {
	if w != nil && w.RequeueAfter > 0 && (res.RetryAfter == 0 || w.RequeueAfter < res.RetryAfter) {
		res.RetryAfter = w.RequeueAfter
	}
	return res
}

// Direct reports whether a copy method mounts the data volume itself.
func Direct(m v1alpha1.CopyMethodType) bool {
	return m == v1alpha1.CopyMethodDirect || m == v1alpha1.CopyMethodNone
}

// ReadOnly reports whether a source can only be mounted read-only.
func ReadOnly(pvc *corev1.PersistentVolumeClaim) bool {
	modes := pvc.Status.AccessModes
	if len(modes) == 0 {
		modes = pvc.Spec.AccessModes
	}
	return len(modes) == 1 && modes[0] == corev1.ReadOnlyMany
}
