package mover

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/common/rbac"
)

// Result is what one step of a Mover reports.
type Result struct {
	// Completed is true when the step is done.
	Completed bool
	// Image is the destination's new point-in-time image (destinations, on completion).
	Image *corev1.TypedLocalObjectReference
	// RetryAfter asks to be called again after this long even without a watch event
	// (0: a change of an owned object will call again).
	RetryAfter time.Duration
	// MoverStatus is the outcome of the latest mover run, when one ended. The state machine
	// publishes it as status.latestMoverStatus, also when the step returns an error.
	MoverStatus *v1alpha1.MoverStatus
	// Transfer is what a completed run moved; the state machine adds it to the metrics.
	Transfer *Transfer
	// Details are the completed run's mover-specific facts (images/contract/result), e.g.
	// whether a restic run pruned the repository, for the mover's own status.
	Details map[string]string
	// InSync is set by a steady mover, one that never completes (a Deployment that keeps the
	// data in sync): whether the data is in sync right now, as the mover itself reports it.
	// The state machine records lastSyncTime when it becomes true and drives
	// volsync_volume_out_of_sync from it. nil for movers that complete.
	InSync *bool
	// Waiting says what an incomplete step waits for that is not VolSync's to make happen (an
	// rclone destination: data from a source); the condition shows it, without an error.
	Waiting string
}

// Transfer counts what a mover moved.
type Transfer struct {
	Bytes int64
	Files int64
}

// Done is a completed Result.
func Done() Result { return Result{Completed: true} }

// DoneWithImage is a completed Result carrying a destination image.
func DoneWithImage(img *corev1.TypedLocalObjectReference) Result {
	return Result{Completed: true, Image: img}
}

// Pending is an incomplete Result that wakes up after d at the latest.
func Pending(d time.Duration) Result { return Result{RetryAfter: d} }

// RetryError is a step's failure that asks to be retried after a specific delay (a mover's
// backoff) instead of the state machine's default.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// Retry wraps err with a retry delay; a nil err stays nil. A mover reports its failures with
// it and leaves the driving (condition, event, requeue) to the state machine.
func Retry(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryError{Err: err, After: after}
}

// ActionError is a failure that retrying cannot fix: the user must change something (a Secret,
// a spec field). The state machine says so in the condition and the event, with Action, and
// retries only rarely (or when the object changes), unlike a transient failure.
type ActionError struct {
	Err error
	// Action tells the user what to do, e.g. "set spec.rsync.address".
	Action string
}

func (e *ActionError) Error() string { return e.Err.Error() }
func (e *ActionError) Unwrap() error { return e.Err }

// ActionRequired marks err as one the user must act on; a nil err stays nil.
func ActionRequired(err error, action string) error {
	if err == nil {
		return nil
	}
	return &ActionError{Err: err, Action: action}
}

// Mover synchronizes one ReplicationSource or ReplicationDestination.
type Mover interface {
	// Synchronize makes progress on the current synchronization.
	Synchronize(ctx context.Context) (Result, error)
	// Cleanup removes what the finished synchronization left behind.
	Cleanup(ctx context.Context) (Result, error)
}

// Env is what a Builder gets to build a Mover for one object.
type Env struct {
	// Client reads VolSync's own objects from the cache only (clients.Split: a miss is
	// trusted) and writes.
	Client client.Client
	// Users reads the user's objects (source PVC, key Secret, moverVolumes, ServiceAccount)
	// live, once per synchronization (clients.UserReads).
	Users clients.UserReader
	// APIReader reads directly from the API server, every time (what must be current: the
	// pods of a finished Job).
	APIReader client.Reader
	// Events regard the object being reconciled.
	Events events.Recorder
	// Clock is the time source.
	Clock clock.PassiveClock
	// Privileged is true when the namespace allows privileged movers.
	Privileged bool
	// PullSecrets are the controller's image pull Secrets (--mover-image-pull-secrets) to give
	// the VolSync-managed mover ServiceAccount (rbac.WithPullSecrets).
	PullSecrets rbac.PullSecrets
	// ProxyEnv is the controller's proxy environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY in
	// both cases), for the movers that talk to the outside (rclone, restic, syncthing); rsync
	// movers talk only to their peer and ignore it, as in the reference.
	ProxyEnv []corev1.EnvVar
}

// Builder plugs one data mover into the shared reconcilers.
type Builder interface {
	// Name is the mover's name, used as the method label of metrics (e.g. "rsync-tls").
	Name() string
	// HandlesSource reports whether the ReplicationSource holds this mover's block.
	HandlesSource(rs *v1alpha1.ReplicationSource) bool
	// HandlesDestination reports whether the ReplicationDestination holds this mover's block.
	HandlesDestination(rd *v1alpha1.ReplicationDestination) bool
	// FromSource builds the mover of a ReplicationSource that HandlesSource accepted. It may
	// write rs.Status (its own sub-status and latestMoverStatus); the reconciler patches it.
	FromSource(env Env, rs *v1alpha1.ReplicationSource) (Mover, error)
	// FromDestination builds the mover of a ReplicationDestination that HandlesDestination
	// accepted. It may write rd.Status.
	FromDestination(env Env, rd *v1alpha1.ReplicationDestination) (Mover, error)
}

// Releaser is implemented by a Builder whose mover keeps running between synchronizations (a
// steady mover's Deployment): Release stops what still works on obj's volume once obj no
// longer holds this mover's block (the user moved it to another mover). Objects that are only
// kept (Secrets, a config PVC) go with obj.
type Releaser interface {
	Release(ctx context.Context, c client.Client, obj client.Object) error
}
