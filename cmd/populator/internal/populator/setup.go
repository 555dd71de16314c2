package populator

import (
	"context"
	"fmt"
	"reflect"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Field indexes of the PVC cache: the PVCs to populate from a ReplicationDestination, by its
// name and by their StorageClass.
const (
	rdIndex    = "populator.volsync.backube/replicationdestination"
	classIndex = "populator.volsync.backube/storageclass"
)

// CacheOptions caches what the populator reads at every reconcile: PVCs, ReplicationDestinations
// (their latest image only) and StorageClasses. A PVC that neither has a ReplicationDestination
// as data source nor is a prime PVC is kept as its name only, so memory grows with the PVCs
// being populated, not with all PVCs of the cluster.
func CacheOptions() cache.Options {
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.PersistentVolumeClaim{}:    {Transform: StripPVC},
			&v1alpha1.ReplicationDestination{}: {Transform: StripRD},
			&storagev1.StorageClass{}:          {},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}

// ClientOptions reads everything else live: volumes, snapshots and snapshot contents are read
// while populating only, never at rest.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{
		&corev1.PersistentVolume{}, &snapv1.VolumeSnapshot{}, &snapv1.VolumeSnapshotContent{},
	}}}
}

// StripPVC keeps a PVC the populator has to do with (relevant) whole, without managedFields,
// and any other as its identity only.
func StripPVC(obj any) (any, error) {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return obj, nil
	}
	if relevant(pvc) {
		pvc.ManagedFields = nil
		return pvc, nil
	}
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
		Name: pvc.Name, Namespace: pvc.Namespace, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion,
	}}, nil
}

// StripRD keeps a ReplicationDestination's identity and latest image.
func StripRD(obj any) (any, error) {
	rd, ok := obj.(*v1alpha1.ReplicationDestination)
	if !ok {
		return obj, nil
	}
	return &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{
			Name: rd.Name, Namespace: rd.Namespace, UID: rd.UID, ResourceVersion: rd.ResourceVersion,
			Generation: rd.Generation, DeletionTimestamp: rd.DeletionTimestamp,
		},
		Status: &v1alpha1.ReplicationDestinationStatus{LatestImage: latestImage(rd)},
	}, nil
}

func latestImage(rd *v1alpha1.ReplicationDestination) *corev1.TypedLocalObjectReference {
	if rd.Status == nil {
		return nil
	}
	return rd.Status.LatestImage
}

// relevant: a PVC to populate or a prime PVC.
func relevant(pvc *corev1.PersistentVolumeClaim) bool {
	_, ok := SourceRD(pvc)
	return ok || isPrime(pvc)
}

// IndexFields registers the PVC indexes.
func IndexFields(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, &corev1.PersistentVolumeClaim{}, rdIndex, func(o client.Object) []string {
		if name, ok := SourceRD(o.(*corev1.PersistentVolumeClaim)); ok {
			return []string{name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing PVCs by ReplicationDestination: %w", err)
	}
	if err := idx.IndexField(ctx, &corev1.PersistentVolumeClaim{}, classIndex, func(o client.Object) []string {
		pvc := o.(*corev1.PersistentVolumeClaim)
		if _, ok := SourceRD(pvc); ok && pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName != "" {
			return []string{*pvc.Spec.StorageClassName}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing PVCs by StorageClass: %w", err)
	}
	return nil
}

// SetupWithManager registers the indexes and the controller: a PVC to populate wakes it, and so
// do its prime PVC, its ReplicationDestination's latest image and its StorageClass.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if err := IndexFields(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}
	toPopulate := predicate.NewPredicateFuncs(func(o client.Object) bool {
		pvc, ok := o.(*corev1.PersistentVolumeClaim)
		if !ok {
			return false
		}
		_, ok = SourceRD(pvc)
		return ok
	})
	primes := predicate.NewPredicateFuncs(func(o client.Object) bool {
		pvc, ok := o.(*corev1.PersistentVolumeClaim)
		return ok && isPrime(pvc)
	})
	imageChanged := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*v1alpha1.ReplicationDestination)
		n, ok2 := e.ObjectNew.(*v1alpha1.ReplicationDestination)
		return !ok1 || !ok2 || !reflect.DeepEqual(latestImage(o), latestImage(n))
	}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("volume-populator").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		For(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(toPopulate)).
		Owns(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(primes)).
		Watches(&v1alpha1.ReplicationDestination{}, handler.EnqueueRequestsFromMapFunc(r.waitingOn(rdIndex)),
			builder.WithPredicates(imageChanged)).
		Watches(&storagev1.StorageClass{}, handler.EnqueueRequestsFromMapFunc(r.waitingOn(classIndex))).
		Complete(r)
}

// waitingOn maps a ReplicationDestination or StorageClass to the unbound PVCs that name it
// (index), from the cache's index: no list of all PVCs.
func (r *Reconciler) waitingOn(index string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		list := &corev1.PersistentVolumeClaimList{}
		opts := []client.ListOption{client.MatchingFields{index: o.GetName()}}
		if o.GetNamespace() != "" {
			opts = append(opts, client.InNamespace(o.GetNamespace()))
		}
		if err := r.Client.List(ctx, list, opts...); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing the PVCs to populate", "index", index, "name", o.GetName())
			return nil
		}
		var out []reconcile.Request
		for i := range list.Items {
			if list.Items[i].Spec.VolumeName == "" {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
		return out
	}
}
