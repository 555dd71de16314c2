package populator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	volevents "github.com/volsync-go/volsync/pkg/common/events"
)

// volumeRecheck is how soon a prime PVC bound to a volume that is not readable yet is looked at
// again (nothing else wakes the reconcile then).
const volumeRecheck = 5 * time.Second

// conflictRetry is how soon a volume that changed while it was being handed over is looked at again.
const conflictRetry = time.Second

// createRetry is how soon a prime PVC the API server refused (a quota, a policy) is tried again.
const createRetry = 20 * time.Second

// Reconciler populates PVCs whose dataSourceRef names a ReplicationDestination. Client reads
// PVCs, ReplicationDestinations and StorageClasses from the cache (CacheOptions) and the rest
// from the API server (ClientOptions).
type Reconciler struct {
	Client       client.Client
	Scheme       *runtime.Scheme
	Recorder     events.EventRecorder
	Registration *Registration

	notices notices
}

// Reconcile moves one PVC a step through the population.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := r.Client.Get(ctx, req.NamespacedName, pvc); err != nil {
		if apierrors.IsNotFound(err) {
			r.notices.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	rdName, ok := SourceRD(pvc)
	if !ok || pvc.DeletionTimestamp != nil {
		r.notices.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	prime, err := r.prime(ctx, pvc)
	if errors.Is(err, errForeignPrime) {
		if pvc.Spec.VolumeName == "" { // a bound PVC needs no prime PVC
			r.notify(pvc, nil, *warning(ReasonPVCCreationError, "Failed to create populator PVC: %s", err))
		}
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	switch {
	case pvc.Spec.VolumeName != "" && prime == nil:
		// Populated (or bound by someone else): nothing to do, nothing written.
		r.notices.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	case pvc.Spec.VolumeName != "":
		return ctrl.Result{}, r.finish(ctx, pvc, prime)
	case prime != nil:
		return r.populate(ctx, pvc, prime)
	}
	if n := checkClaim(pvc); n != nil {
		r.notify(pvc, nil, *n)
		return ctrl.Result{}, nil
	}
	class, err := r.class(ctx, pvc)
	if err != nil {
		return ctrl.Result{}, err
	}
	if n, wait := checkClass(pvc, class); wait {
		if n != nil {
			r.notify(pvc, class, *n)
		}
		return ctrl.Result{}, nil
	}
	return r.start(ctx, pvc, rdName, class)
}

// start creates the prime PVC from the ReplicationDestination's latest image.
func (r *Reconciler) start(ctx context.Context, pvc *corev1.PersistentVolumeClaim, rdName string, class *storagev1.StorageClass) (ctrl.Result, error) {
	rd := &v1alpha1.ReplicationDestination{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: pvc.Namespace, Name: rdName}, rd); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		rd = nil
	}
	snapName, n := checkSource(pvc, rdName, rd)
	if n != nil {
		r.notify(pvc, rd, *n)
		return ctrl.Result{}, nil
	}
	snap := &snapv1.VolumeSnapshot{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: pvc.Namespace, Name: snapName}, snap); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("reading VolumeSnapshot %s: %w", snapName, err)
		}
		snap = nil
	}
	if n := checkSnapshot(pvc, class, rdName, snapName, snap, r.snapshotDriver(ctx, snap)); n != nil {
		r.notify(pvc, snap, *n)
		return ctrl.Result{}, nil
	}
	r.checkRegistered(ctx, pvc)

	// Mark the snapshot first: from now on a destination's cleanup leaves it alone.
	if err := r.patchMeta(ctx, snap, func(o client.Object) bool {
		return setLabel(o, SnapshotLabel(pvc.UID), LabelValue(pvc.Name))
	}); err != nil {
		return ctrl.Result{}, err
	}
	prime := newPrime(pvc, snapName)
	if err := controllerutil.SetControllerReference(pvc, prime, r.Scheme); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Client.Create(ctx, prime); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, nil // created a moment ago; its event wakes us
		}
		// A quota, an admission policy, a webhook: nothing we watch says when that changes, so
		// look again at a steady pace rather than with a backoff that grows to many minutes.
		r.notify(pvc, nil, *warning(ReasonPVCCreationError, "Failed to create populator PVC: %s", err))
		log.FromContext(ctx).Info("Cannot create the populator PVC yet", "primePVC", prime.Name, "error", err.Error())
		return ctrl.Result{RequeueAfter: wait.Jitter(createRetry, 0.5)}, nil
	}
	n = &Notice{Reason: ReasonPVCCreated, Message: fmt.Sprintf("Populator pvc %s created from snapshot %s (the latest image of ReplicationDestination %s); "+
		"kubectl describe pvc -n %s %s shows how its provisioning goes", prime.Name, snapName, rdName, pvc.Namespace, prime.Name)}
	r.notify(pvc, prime, *n)
	log.FromContext(ctx).Info("Populating", "replicationDestination", rdName, "volumeSnapshot", snapName, "primePVC", prime.Name)
	return ctrl.Result{}, nil
}

// newPrime is the prime PVC of pvc: the same request, restored from the snapshot.
func newPrime(pvc *corev1.PersistentVolumeClaim, snapName string) *corev1.PersistentVolumeClaim {
	group := snapshotGroup
	prime := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name: PrimeName(pvc.UID), Namespace: pvc.Namespace,
			Labels: map[string]string{
				v1alpha1.PopulatorPVCForLabel: LabelValue(pvc.Name),
				v1alpha1.CreatedByLabel:       v1alpha1.CreatedByValue,
			},
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      pvc.Spec.AccessModes,
			Resources:        pvc.Spec.Resources,
			StorageClassName: pvc.Spec.StorageClassName,
			VolumeMode:       pvc.Spec.VolumeMode,
			DataSourceRef:    &corev1.TypedObjectReference{APIGroup: &group, Kind: snapshotKind, Name: snapName},
		},
	}
	if node := pvc.Annotations[selectedNodeAnnotation]; node != "" {
		prime.Annotations = map[string]string{selectedNodeAnnotation: node}
	}
	return prime
}

// populate protects the prime PVC's snapshot and hands the prime PVC's volume, once bound, to
// the user's PVC.
func (r *Reconciler) populate(ctx context.Context, pvc, prime *corev1.PersistentVolumeClaim) (ctrl.Result, error) {
	if prime.DeletionTimestamp != nil {
		return ctrl.Result{}, nil // its deletion wakes us, and population starts again
	}
	if err := r.protect(ctx, pvc, prime); err != nil {
		return ctrl.Result{}, err
	}
	if prime.Spec.VolumeName == "" {
		return ctrl.Result{}, nil // provisioning; its binding wakes us
	}
	pv := &corev1.PersistentVolume{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: prime.Spec.VolumeName}, pv); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{RequeueAfter: wait.Jitter(volumeRecheck, 0.5)}, nil
		}
		return ctrl.Result{}, err
	}
	if claimRefIs(pv, pvc) {
		return ctrl.Result{}, nil // handed over; the PV controller binds it and that wakes us
	}
	if !claimRefIs(pv, prime) {
		r.notify(pvc, pv, *warning(ReasonError, "Unable to populate volume: PersistentVolume %s of populator PVC %s is claimed by %s; "+
			"delete the PVC and create it again", pv.Name, prime.Name, claimName(pv)))
		return ctrl.Result{}, nil
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{
			"resourceVersion": pv.ResourceVersion,
			"annotations":     map[string]string{v1alpha1.PopulatedFromAnnotation: pvc.Namespace + "/" + prime.Spec.DataSourceRef.Name},
		},
		"spec": map[string]any{"claimRef": map[string]any{
			"apiVersion": "v1", "kind": "PersistentVolumeClaim",
			"namespace": pvc.Namespace, "name": pvc.Name, "uid": pvc.UID, "resourceVersion": pvc.ResourceVersion,
		}},
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Client.Patch(ctx, pv, client.RawPatch(types.StrategicMergePatchType, patch)); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: wait.Jitter(conflictRetry, 0.5)}, nil
		}
		return ctrl.Result{}, fmt.Errorf("handing PersistentVolume %s to the PVC: %w", pv.Name, err)
	}
	log.FromContext(ctx).Info("Handed the populated volume to the PVC", "persistentVolume", pv.Name)
	return ctrl.Result{}, nil
}

// protect makes the prime PVC an owner of the snapshot it restores, unless the user keeps the
// snapshot (do-not-delete): a snapshot its ReplicationDestination no longer owns then goes
// away with the prime PVC, not before.
func (r *Reconciler) protect(ctx context.Context, pvc, prime *corev1.PersistentVolumeClaim) error {
	ref := prime.Spec.DataSourceRef
	if ref == nil {
		return nil
	}
	snap := &snapv1.VolumeSnapshot{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: prime.Namespace, Name: ref.Name}, snap); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // the provisioner reports it on the prime PVC
		}
		return fmt.Errorf("reading VolumeSnapshot %s: %w", ref.Name, err)
	}
	return r.patchMeta(ctx, snap, func(o client.Object) bool {
		changed := setLabel(o, SnapshotLabel(pvc.UID), LabelValue(pvc.Name))
		if _, keep := o.GetLabels()[v1alpha1.DoNotDeleteLabel]; keep || hasOwner(o, prime.UID) {
			return changed
		}
		o.SetOwnerReferences(append(o.GetOwnerReferences(), metav1.OwnerReference{
			APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: prime.Name, UID: prime.UID,
		}))
		return true
	})
}

// finish releases the snapshots and deletes the prime PVC once the user's PVC has its volume.
func (r *Reconciler) finish(ctx context.Context, pvc, prime *corev1.PersistentVolumeClaim) error {
	if prime.DeletionTimestamp != nil || !primeDone(pvc, prime) {
		return nil // the prime PVC's change wakes us
	}
	label := SnapshotLabel(pvc.UID)
	snaps := &snapv1.VolumeSnapshotList{}
	if err := r.Client.List(ctx, snaps, client.InNamespace(pvc.Namespace), client.HasLabels{label}); err != nil {
		return fmt.Errorf("listing the VolumeSnapshots marked for the PVC: %w", err)
	}
	for i := range snaps.Items {
		snap := &snaps.Items[i]
		if err := r.patchMeta(ctx, snap, func(o client.Object) bool {
			labels := o.GetLabels()
			delete(labels, label)
			o.SetLabels(labels)
			if _, keep := labels[v1alpha1.DoNotDeleteLabel]; keep {
				o.SetOwnerReferences(withoutOwner(o.GetOwnerReferences(), prime.UID))
			}
			return true
		}); err != nil {
			return err
		}
		if deferred(snap) {
			// Marked for an earlier attempt: its ReplicationDestination wanted it deleted and
			// left it to us; nobody else would.
			if err := r.Client.Delete(ctx, snap, client.Preconditions{UID: &snap.UID, ResourceVersion: &snap.ResourceVersion}); err != nil &&
				!apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting VolumeSnapshot %s: %w", snap.Name, err)
			}
			log.FromContext(ctx).Info("Deleted a replaced image the population had kept", "volumeSnapshot", snap.Name)
		}
	}
	// Guarded by the resourceVersion: a prime PVC read from a cache that has not seen its
	// deletion yet must not be "deleted" (and reported finished) a second time.
	err := r.Client.Delete(ctx, prime, client.Preconditions{UID: &prime.UID, ResourceVersion: &prime.ResourceVersion})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // already deleted, or changed since: its event wakes us
	}
	if err != nil {
		return fmt.Errorf("deleting the populator PVC %s: %w", prime.Name, err)
	}
	src := ""
	if prime.Spec.DataSourceRef != nil {
		src = prime.Spec.DataSourceRef.Name
	}
	r.notices.forget(client.ObjectKeyFromObject(pvc))
	r.event(pvc, nil, true, ReasonFinished, "Populator finished: the volume holds VolumeSnapshot %s", src)
	log.FromContext(ctx).Info("Populated", "volumeSnapshot", src, "persistentVolume", pvc.Spec.VolumeName)
	return nil
}

// checkRegistered registers ReplicationDestination as a data source kind if it is not yet,
// and tells the PVC when the VolumePopulator CRD is missing.
func (r *Reconciler) checkRegistered(ctx context.Context, pvc *corev1.PersistentVolumeClaim) {
	if r.Registration == nil {
		return
	}
	ok, err := r.Registration.Ensure(ctx)
	switch {
	case err != nil:
		log.FromContext(ctx).Error(err, "Registering ReplicationDestination as a volume data source failed; populating anyway")
	case !ok:
		r.event(pvc, nil, true, ReasonNotRegistered, "The VolumePopulator CRD (populator.storage.k8s.io) is not installed, so ReplicationDestination "+
			"is not registered as a data source kind; populating anyway. Install the CRD of kubernetes-csi/volume-data-source-validator "+
			"to have PVC data sources validated; VolSync registers itself when it is there")
	}
}

// errForeignPrime: a PVC that is not pvc's holds the prime PVC's name (left alone).
var errForeignPrime = errors.New("the populator PVC's name is taken")

// prime returns pvc's prime PVC, or nil.
func (r *Reconciler) prime(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, error) {
	prime := &corev1.PersistentVolumeClaim{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: pvc.Namespace, Name: PrimeName(pvc.UID)}, prime)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !metav1.IsControlledBy(prime, pvc) {
		return nil, fmt.Errorf("%w: PVC %s already exists and does not belong to PVC %s; delete or rename it", errForeignPrime, prime.Name, pvc.Name)
	}
	return prime, nil
}

// class returns pvc's StorageClass, or nil if it has none or it does not exist.
func (r *Reconciler) class(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName == "" {
		return nil, nil
	}
	class := &storagev1.StorageClass{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: *pvc.Spec.StorageClassName}, class)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return class, err
}

// snapshotDriver returns the CSI driver that took snap ("" when unknown).
func (r *Reconciler) snapshotDriver(ctx context.Context, snap *snapv1.VolumeSnapshot) string {
	if snap == nil || snap.Status == nil || snap.Status.BoundVolumeSnapshotContentName == nil {
		return ""
	}
	content := &snapv1.VolumeSnapshotContent{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: *snap.Status.BoundVolumeSnapshotContentName}, content); err != nil {
		log.FromContext(ctx).V(1).Info("Cannot read the snapshot's content; skipping the driver check", "error", err.Error())
		return ""
	}
	return content.Spec.Driver
}

// patchMeta applies mutate to obj's metadata and sends it as a merge patch guarded by the
// resourceVersion (ownerReferences is a list a merge patch replaces whole). A conflict is
// returned as an error: the reconcile is retried with a fresh read.
func (r *Reconciler) patchMeta(ctx context.Context, obj client.Object, mutate func(client.Object) bool) error {
	base, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("copying %s", obj.GetName())
	}
	if !mutate(obj) {
		return nil
	}
	if err := r.Client.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("updating %s: %w", obj.GetName(), err)
	}
	return nil
}

// notify emits n on pvc unless it is the PVC's last notice already.
func (r *Reconciler) notify(pvc *corev1.PersistentVolumeClaim, related runtime.Object, n Notice) {
	if !r.notices.changed(client.ObjectKeyFromObject(pvc), pvc.UID, n) {
		return
	}
	r.event(pvc, related, !n.Warning, n.Reason, "%s", n.Message)
}

func (r *Reconciler) event(pvc *corev1.PersistentVolumeClaim, related runtime.Object, normal bool, reason, note string, args ...any) {
	rec := volevents.For(r.Recorder, pvc)
	if related != nil {
		if o, ok := related.(client.Object); !ok || o == nil || isNil(o) {
			related = nil
		}
	}
	if normal {
		rec.Normal(related, reason, ActionProvision, note, args...)
	} else {
		rec.Warning(related, reason, ActionProvision, note, args...)
	}
}
