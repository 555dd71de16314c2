package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	kevents "k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/rbac"
	"github.com/volsync-go/volsync/pkg/common/statemachine"
)

// Options configure both reconcilers of one mover controller.
type Options struct {
	Builder mover.Builder
	// Client is the controller's client (clients.Split); APIReader reads live.
	Client    client.Client
	APIReader client.Reader
	Recorder  kevents.EventRecorder
	Clock     clock.PassiveClock
	// Location is the time zone schedules are evaluated in (default: UTC).
	Location *time.Location
	Metrics  *metrics.Set
	// MaxConcurrentReconciles bounds parallel reconciles per kind (default 10).
	MaxConcurrentReconciles int
	// PullSecrets and ProxyEnv are passed to every mover (see mover.Env).
	PullSecrets rbac.PullSecrets
	ProxyEnv    []corev1.EnvVar
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Metrics == nil {
		o.Metrics = metrics.Global()
	}
	if o.MaxConcurrentReconciles == 0 {
		o.MaxConcurrentReconciles = 10
	}
}

// kind adapts ReplicationSource or ReplicationDestination to the shared reconcile loop.
type kind[T client.Object] struct {
	role    naming.Role
	newObj  func() T
	handles func(T) bool
	build   func(mover.Env, T) (mover.Mover, error)
	view    func(T, mover.Env) statemachine.Object
	status  func(T) any
	// prepare runs before the mover (destinations relinquish do-not-delete snapshots).
	prepare func(context.Context, T, mover.Env) error
}

type reconciler[T client.Object] struct {
	opts   Options
	k      kind[T]
	writes ownWrites
	races  statemachine.Races
	// reads remembers the user objects each synchronization read (clients.UserReads).
	reads *clients.UserReads
}

// Reconcile runs one object through the state machine and patches its status if it changed.
func (r *reconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	obj := r.k.newObj()
	series := metrics.Object{Name: req.Name, Namespace: req.Namespace, Role: string(r.k.role), Method: r.opts.Builder.Name()}
	forget := func() {
		r.races.Clear(req.NamespacedName)
		r.opts.Metrics.Forget(series)
		r.writes.forget(req.NamespacedName)
		r.reads.Drop(req.NamespacedName)
	}
	if err := r.opts.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			forget()
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !r.k.handles(obj) {
		// The object moved to another mover (its method block changed): it is no longer
		// ours, like a deleted one. Its new controller reports it from now on.
		logger.V(1).Info("Object no longer handled by this controller; forgetting it")
		forget()
		if rel, ok := r.opts.Builder.(mover.Releaser); ok {
			if err := rel.Release(ctx, r.opts.Client, obj); err != nil {
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{}, nil
	}
	if r.writes.stale(obj) {
		logger.V(1).Info("Cache still holds the status this controller replaced; waiting for it")
		return ctrl.Result{RequeueAfter: staleCacheRetry}, nil
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopyObject().(T)

	privileged, err := r.privileged(ctx, obj.GetNamespace())
	if err != nil {
		return ctrl.Result{}, err
	}
	env := r.opts.moverEnv(obj, privileged)
	var view statemachine.Object
	env.Users = r.reads.For(req.NamespacedName, r.opts.APIReader, func() string { return syncID(view.Status()) })
	view = r.k.view(obj, env)
	machine := statemachine.NewMachine(r.opts.Clock, r.opts.Location, r.opts.Metrics, series, env.Events)
	machine.Races = &r.races

	var result ctrl.Result
	if r.k.prepare != nil {
		err = r.k.prepare(ctx, obj, env)
	}
	var mv mover.Mover
	if err == nil {
		mv, err = r.k.build(env, obj)
	}
	if err == nil {
		result, err = machine.Run(ctx, view, mv)
	} else {
		result, err = machine.Run(ctx, view, failing{err})
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if perr := r.patchStatus(ctx, before, obj); perr != nil {
		if apierrors.IsConflict(perr) || apierrors.IsNotFound(perr) {
			logger.V(1).Info("Status patch lost a race; retrying", "reason", perr.Error())
			return ctrl.Result{RequeueAfter: statemachine.RaceRetryInterval}, nil
		}
		return ctrl.Result{}, fmt.Errorf("patching status: %w", perr)
	}
	machine.Commit()
	if syncID(view.Status()) == "" {
		// No synchronization in progress: what the last one read is not needed any more.
		r.reads.Drop(req.NamespacedName)
	}
	return result, nil
}

// patchStatus sends the status only when it changed (quiet at rest), and remembers the
// version it replaced (see ownWrites).
func (r *reconciler[T]) patchStatus(ctx context.Context, before, after T) error {
	if equality.Semantic.DeepEqual(r.k.status(before), r.k.status(after)) {
		return nil
	}
	if err := r.opts.Client.Status().Patch(ctx, after, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	r.writes.wrote(before)
	return nil
}

// syncID identifies the synchronization in progress (its start time), "" when none is. It has
// the precision of the stored status (seconds), so the reconcile that starts a synchronization
// and those that read its status back agree.
func syncID(st *v1alpha1.CommonStatus) string {
	if st.LastSyncStartTime == nil {
		return ""
	}
	return st.LastSyncStartTime.UTC().Format(time.RFC3339)
}

// failing is a mover whose every step fails with the error met while building it, so the
// state machine reports it like any other synchronization error.
type failing struct{ err error }

func (f failing) Synchronize(context.Context) (mover.Result, error) { return mover.Result{}, f.err }
func (f failing) Cleanup(context.Context) (mover.Result, error)     { return mover.Result{}, f.err }

// privileged reports whether the namespace lets movers run privileged.
func (r *reconciler[T]) privileged(ctx context.Context, namespace string) (bool, error) {
	ns := &corev1.Namespace{}
	if err := r.opts.Client.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		return false, fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	return strings.EqualFold(ns.Annotations[v1alpha1.PrivilegedMoversNamespaceAnnotation], "true"), nil
}

// handledPredicate lets through the events of objects this controller handles, and the updates
// whose old object it handled: the update that moves an object to another mover must reach
// the reconciler, which then forgets the object (metric series, stale-write record).
func handledPredicate[T client.Object](handles func(T) bool) predicate.Funcs {
	ours := func(o client.Object) bool {
		t, ok := o.(T)
		return ok && handles(t)
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return ours(e.Object) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return ours(e.Object) },
		GenericFunc: func(e event.GenericEvent) bool { return ours(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return ours(e.ObjectNew) || ours(e.ObjectOld) },
	}
}

func (r *reconciler[T]) setup(mgr ctrl.Manager, name string, owns ...client.Object) error {
	handles := handledPredicate(r.k.handles)
	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		For(r.k.newObj(), builder.WithPredicates(handles,
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.opts.MaxConcurrentReconciles})
	for _, o := range owns {
		b = b.Owns(o, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}))
	}
	return b.Complete(r)
}

// SetupSource registers the ReplicationSource reconciler of opts.Builder's mover.
func SetupSource(mgr ctrl.Manager, opts Options, owns ...client.Object) error {
	return newSource(opts).setup(mgr, opts.Builder.Name()+"-replicationsource", ownsOrDefault(owns)...)
}

// SetupDestination registers the ReplicationDestination reconciler of opts.Builder's mover.
func SetupDestination(mgr ctrl.Manager, opts Options, owns ...client.Object) error {
	return newDestination(opts).setup(mgr, opts.Builder.Name()+"-replicationdestination", ownsOrDefault(owns)...)
}

// NewSourceReconciler returns the ReplicationSource reconciler of opts.Builder's mover without
// registering it with a manager, to run reconciles one at a time (tests of what a single
// reconcile costs).
func NewSourceReconciler(opts Options) ctrlreconcile.Reconciler { return newSource(opts) }

// NewDestinationReconciler is NewSourceReconciler for ReplicationDestinations.
func NewDestinationReconciler(opts Options) ctrlreconcile.Reconciler { return newDestination(opts) }

func newSource(opts Options) *reconciler[*v1alpha1.ReplicationSource] {
	opts.defaults()
	return &reconciler[*v1alpha1.ReplicationSource]{opts: opts, k: sourceKind(opts.Builder), reads: clients.NewUserReads()}
}

func newDestination(opts Options) *reconciler[*v1alpha1.ReplicationDestination] {
	opts.defaults()
	return &reconciler[*v1alpha1.ReplicationDestination]{opts: opts, k: destinationKind(opts.Builder), reads: clients.NewUserReads()}
}

func ownsOrDefault(owns []client.Object) []client.Object {
	if len(owns) > 0 {
		return owns
	}
	return kinds.Watched()
}
