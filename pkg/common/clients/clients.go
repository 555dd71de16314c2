package clients

import (
	"context"
	"errors"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/affinity"
	"github.com/volsync-go/volsync/pkg/common/kinds"
)

// CreatedBySelector selects the objects VolSync created.
var CreatedBySelector = labels.SelectorFromSet(labels.Set{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue})

// ErrNotCachedYet is returned by Split.Get for an object this process created moments ago
// that its cache has not received yet. It is an expected race: the caller retries soon
// (statemachine.IsRace) instead of creating the object a second time.
var ErrNotCachedYet = errors.New("object created by this controller is not in its cache yet")

// OwnedTypes are the kinds the controllers create and watch. Their cache holds only objects
// labelled created-by=volsync, so a controller's memory grows with its own objects, not with
// every Secret and PVC of the cluster. Reads of these kinds are served by the cache alone: a
// miss means VolSync has no such object (users' objects of these kinds are read through
// UserReads).
// extra are the kinds only this controller owns (kinds.Deployment for a steady mover).
func OwnedTypes(extra ...kinds.Kind) []client.Object { return kinds.Objects(extra...) }

// CacheOptions restricts the cache of owned types to VolSync's objects, and caches every Pod
// stripped to what placement needs (affinity.StripPod). No cached object keeps its
// managedFields, which the controllers never read.
func CacheOptions(extra ...kinds.Kind) cache.Options {
	// Keys are objects, not kinds: each kind must appear once, or the cache keeps whichever
	// entry its map iteration meets last.
	by := map[client.Object]cache.ByObject{}
	for _, o := range OwnedTypes(extra...) {
		b := cache.ByObject{Label: CreatedBySelector}
		if _, ok := o.(*batchv1.Job); ok {
			b.Transform = StripJob
		}
		by[o] = b
	}
	by[&corev1.Pod{}] = cache.ByObject{Transform: affinity.StripPod}
	return cache.Options{ByObject: by, DefaultTransform: cache.TransformStripManagedFields()}
}

// StripJob is the transform of the Job cache: the controllers never read a Job's pod template
// back (a changed template is seen through the spec-hash annotation, and Jobs are only ever
// patched, never updated whole), so the cache drops it and the managedFields, the bulk of a
// mover Job. Anything that is not a Job passes unchanged.
func StripJob(obj any) (any, error) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return obj, nil
	}
	j.ManagedFields = nil
	j.Spec.Template = corev1.PodTemplateSpec{}
	return j, nil
}

// UncachedTypes are read straight from the API server and never get an informer: Nodes and
// ConfigMaps are read rarely (placing a Job, once per synchronization).
func UncachedTypes() []client.Object {
	return []client.Object{&corev1.ConfigMap{}, &corev1.Node{}}
}

// ClientOptions makes the manager's client read UncachedTypes live.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: UncachedTypes()}}
}

// IndexFields registers the field indexes the controllers list with: Pods by claim
// (affinity.ClaimIndex). Call it once per manager, before the manager starts.
func IndexFields(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, &corev1.Pod{}, affinity.ClaimIndex, affinity.IndexClaims); err != nil {
		return fmt.Errorf("indexing pods by claim: %w", err)
	}
	return nil
}

// Split is the controllers' client. Reads of cached kinds (OwnedTypes, Pods, Namespaces and
// the replication objects) are served by the cache only: a miss is trusted, so a reconcile
// that finds everything in place makes no API request, and one that creates an object makes
// exactly the create (an AlreadyExists from a concurrent create is the expected race). An
// object this process created that the cache has not received yet is reported as
// ErrNotCachedYet instead of a miss, so it is never created twice. Reads of other kinds go to
// the API server. Writes go to the API server.
type Split struct {
	client.Client
	API     client.Reader
	cached  map[schema.GroupKind]bool
	created *creations
}

// NewSplit wraps a cache-backed client; api reads live. extra are the kinds only this
// controller owns (its cache was made with CacheOptions(extra...)).
func NewSplit(c client.Client, api client.Reader, extra ...kinds.Kind) (*Split, error) {
	s := &Split{Client: c, API: api, cached: map[schema.GroupKind]bool{}, created: newCreations(clock.RealClock{})}
	for _, o := range append(OwnedTypes(extra...), &corev1.Pod{}, &corev1.Namespace{}, &v1alpha1.ReplicationSource{}, &v1alpha1.ReplicationDestination{}) {
		gvk, err := apiutil.GVKForObject(o, c.Scheme())
		if err != nil {
			return nil, err
		}
		s.cached[gvk.GroupKind()] = true
	}
	return s, nil
}

func (s *Split) groupKind(obj runtime.Object) (schema.GroupKind, bool) {
	gvk, err := apiutil.GVKForObject(obj, s.Scheme())
	if err != nil {
		return schema.GroupKind{}, false
	}
	gk := gvk.GroupKind()
	gk.Kind = strings.TrimSuffix(gk.Kind, "List")
	return gk, s.cached[gk]
}

func (s *Split) isCached(obj runtime.Object) bool {
	_, ok := s.groupKind(obj)
	return ok
}

// Get reads obj from the cache for cached kinds (see Split), live otherwise.
func (s *Split) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	gk, cached := s.groupKind(obj)
	if !cached {
		return s.API.Get(ctx, key, obj, opts...)
	}
	err := s.Client.Get(ctx, key, obj, opts...)
	switch {
	case err == nil:
		s.created.seen(gk, key, obj.GetUID())
	case apierrors.IsNotFound(err) && s.created.pending(gk, key):
		return fmt.Errorf("%s %s: %w", gk.Kind, key, ErrNotCachedYet)
	}
	return err
}

// List lists cached kinds from the cache and other kinds from the API server.
func (s *Split) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if s.isCached(list) {
		return s.Client.List(ctx, list, opts...)
	}
	return s.API.List(ctx, list, opts...)
}

// LiveReader reads from the API server (users' objects of cached kinds, which the cache does
// not hold).
func (s *Split) LiveReader() client.Reader { return s.API }

// Create creates obj and remembers it until the cache has it.
func (s *Split) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if err := s.Client.Create(ctx, obj, opts...); err != nil {
		return err
	}
	if gk, cached := s.groupKind(obj); cached {
		s.created.add(gk, client.ObjectKeyFromObject(obj), obj.GetUID())
	}
	return nil
}

// Delete deletes obj and forgets that this process created it.
func (s *Split) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if gk, cached := s.groupKind(obj); cached {
		s.created.forget(gk, client.ObjectKeyFromObject(obj))
	}
	return s.Client.Delete(ctx, obj, opts...)
}

// Manager is what New needs of a controller-runtime manager.
type Manager interface {
	GetClient() client.Client
	GetAPIReader() client.Reader
	GetFieldIndexer() client.FieldIndexer
}

// New registers the field indexes on mgr's cache and returns the controllers' Split client.
// mgr must have been made with CacheOptions(extra...) and ClientOptions.
func New(ctx context.Context, mgr Manager, extra ...kinds.Kind) (*Split, error) {
	if err := IndexFields(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	return NewSplit(mgr.GetClient(), mgr.GetAPIReader(), extra...)
}
