package clients

import (
	"context"
	"strings"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// CreatedBySelector selects the objects VolSync created.
var CreatedBySelector = labels.SelectorFromSet(labels.Set{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue})

// OwnedTypes are the kinds the controllers create and watch. Their cache holds only objects
// labelled created-by=volsync, so a controller's memory grows with its own objects, not with
// every Secret and PVC of the cluster.
func OwnedTypes() []client.Object {
	return []client.Object{
		&batchv1.Job{}, &corev1.PersistentVolumeClaim{}, &corev1.Secret{}, &corev1.Service{},
		&snapv1.VolumeSnapshot{},
	}
}

// CacheOptions restricts the cache of owned types to VolSync's objects.
func CacheOptions() cache.Options {
	by := map[client.Object]cache.ByObject{}
	for _, o := range OwnedTypes() {
		by[o] = cache.ByObject{Label: CreatedBySelector}
	}
	return cache.Options{ByObject: by}
}

// UncachedTypes are read straight from the API server and never get an informer.
func UncachedTypes() []client.Object {
	return []client.Object{&corev1.Pod{}, &corev1.ServiceAccount{}, &corev1.ConfigMap{}, &corev1.Node{}}
}

// Split is a client whose reads of owned types try the cache first and fall back to the API
// server when the cache does not have the object (it is not VolSync's, or is brand new), and
// whose reads of every other type go straight to the API server. Writes go to the API server.
type Split struct {
	client.Client
	API    client.Reader
	cached map[schema.GroupKind]bool
}

// NewSplit wraps a cache-backed client.
func NewSplit(c client.Client, api client.Reader) (*Split, error) {
	s := &Split{Client: c, API: api, cached: map[schema.GroupKind]bool{}}
	for _, o := range append(OwnedTypes(), &corev1.Namespace{}, &v1alpha1.ReplicationSource{}, &v1alpha1.ReplicationDestination{}) {
		gvk, err := apiutil.GVKForObject(o, c.Scheme())
		if err != nil {
			return nil, err
		}
		s.cached[gvk.GroupKind()] = true
	}
	return s, nil
}

func (s *Split) isCached(obj runtime.Object) bool {
	gvk, err := apiutil.GVKForObject(obj, s.Scheme())
	if err != nil {
		return false
	}
	gk := gvk.GroupKind()
	gk.Kind = strings.TrimSuffix(gk.Kind, "List")
	return s.cached[gk]
}

// Get reads obj, from the cache when it holds it.
func (s *Split) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if s.isCached(obj) {
		err := s.Client.Get(ctx, key, obj, opts...)
		if !apierrors.IsNotFound(err) {
			return err
		}
	}
	return s.API.Get(ctx, key, obj, opts...)
}

// List lists from the cache for owned types (the lists the controllers make select VolSync's
// own objects) and from the API server otherwise.
func (s *Split) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if s.isCached(list) {
		return s.Client.List(ctx, list, opts...)
	}
	return s.API.List(ctx, list, opts...)
}
