package pit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/events"
)

// Timeouts after which an unbound object is reported with a Warning event (the reference
// implementation's values).
// CopyTriggerPoll is how often a source waiting for its copy-trigger looks at the source PVC
// again: source PVCs are not watched (the controllers cache only VolSync's own objects).
const CopyTriggerPoll = 30 * time.Second

const (
	// PVCBindTimeout is how long a PVC may stay unbound before PersistentVolumeClaimNotBound.
	PVCBindTimeout = 120 * time.Second
	// SnapshotBindTimeout is how long a VolumeSnapshot may stay unbound (or not ready)
	// before VolumeSnapshotNotBound.
	SnapshotBindTimeout = 30 * time.Second
	// ConflictRetry is when to look again after an expected race (the object changed or
	// appeared under us and the cache has not caught up yet).
	ConflictRetry = time.Second
)

// Annotations private to this package. They remember what was already reported, so a
// reconcile that changes nothing emits nothing.
const (
	// BindWarningAnnotation on a PVC or VolumeSnapshot VolSync created records (RFC 3339)
	// that its not-bound Warning event was emitted.
	BindWarningAnnotation = "volsync.backube/bind-warning-sent"
	// CopyTriggerTimeoutAnnotation on a source PVC holds the waiting-since value whose
	// copy-trigger timeout was already reported.
	CopyTriggerTimeoutAnnotation = "volsync.backube/copy-trigger-timeout-reported"
)

// Sentinel errors. Returned errors wrap them with the object's name and a hint for the user.
var (
	ErrSourcePVCNotFound           = errors.New("source PersistentVolumeClaim not found")
	ErrDestinationPVCNotFound      = errors.New("destination PersistentVolumeClaim not found")
	ErrStorageClassNotFound        = errors.New("StorageClass not found")
	ErrVolumeSnapshotClassNotFound = errors.New("VolumeSnapshotClass not found")
	ErrUnsupportedCopyMethod       = errors.New("unsupported copyMethod")
	ErrMissingCapacity             = errors.New("capacity is not known")
	ErrMissingAccessModes          = errors.New("accessModes are not known")
	// ErrNotOwned says an object VolSync wants to create already exists and belongs to
	// someone else; VolSync never adopts or overwrites it.
	ErrNotOwned = errors.New("object exists and is not owned by this VolSync object")
)

// IsInvalidInput reports whether err comes from the user's objects (spec, PVCs, classes)
// rather than from the API server: retrying without a change on the user's side will not help,
// so it belongs in a condition and an event, not in an error backoff loop.
func IsInvalidInput(err error) bool {
	for _, s := range []error{
		ErrSourcePVCNotFound, ErrDestinationPVCNotFound, ErrStorageClassNotFound,
		ErrVolumeSnapshotClassNotFound, ErrUnsupportedCopyMethod, ErrMissingCapacity,
		ErrMissingAccessModes, ErrNotOwned,
	} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// Wait says an object is not ready yet.
//
// RequeueAfter is when to look again at the latest (0: a watch event on the owned PVC or
// VolumeSnapshot, or on the source PVC, will wake the caller). Message is user-readable.
// Failed is true when waiting has turned into a reportable failure (copy-trigger timeout): the
// caller sets latestMoverStatus Failed with Message and keeps waiting.
//
// SourceCopy and DestinationVolume may return a PVC together with a Wait: the PVC is usable
// (the mover pod waits for it to bind, which WaitForFirstConsumer storage needs) and the Wait
// is only a hint to look again at RequeueAfter, so the not-bound warning is reported on time.
type Wait struct {
	Message      string
	RequeueAfter time.Duration
	Failed       bool
}

// Handler makes and tracks the volumes of one ReplicationSource or ReplicationDestination.
type Handler struct {
	// Client is the controller's client: VolSync's own objects are read from its cache.
	Client client.Client
	// Users reads the user's PVCs (source, destinationPVC) once per synchronization (nil:
	// Client, live; for tests with a direct client).
	Users clients.UserReader
	// Owner is the ReplicationSource or ReplicationDestination. Its UID labels temporary
	// objects and it is the controller owner of what the Handler creates.
	Owner client.Object
	// Events regard Owner (events.For(recorder, owner)); the zero Recorder discards them.
	Events events.Recorder
	// Clock tells the time (nil: the real clock).
	Clock clock.PassiveClock
}

// Kinds and API groups used in references and messages.
const (
	kindPVC      = "PersistentVolumeClaim"
	kindSnapshot = "VolumeSnapshot"
)

// snapshotGroup is the API group of VolumeSnapshots.
var snapshotGroup = snapv1.SchemeGroupVersion.Group

// users returns Users, or Client read live when none was given.
func (h Handler) users() clients.UserReader {
	if h.Users == nil {
		return clients.Live(h.Client)
	}
	return h.Users
}

// clock returns Clock, or the real clock when none was given.
func (h Handler) clock() clock.PassiveClock {
	if h.Clock == nil {
		return clock.RealClock{}
	}
	return h.Clock
}

func (h Handler) namespace() string { return h.Owner.GetNamespace() }

func (h Handler) ownerUID() string { return string(h.Owner.GetUID()) }

// ownerKindName names the owner for messages: "ReplicationSource/db".
func (h Handler) ownerKindName() string {
	gvk, err := apiutil.GVKForObject(h.Owner, h.Client.Scheme())
	if err != nil {
		return h.Owner.GetName()
	}
	return events.KindName(gvk.Kind, h.Owner.GetName())
}

// getOwned reads an object VolSync manages by name. It returns false when the object does not
// exist, and an ErrNotOwned error when it exists without Owner as its controller.
func (h Handler) getOwned(ctx context.Context, kind, name string, obj client.Object) (bool, error) {
	if err := h.Client.Get(ctx, client.ObjectKey{Namespace: h.namespace(), Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading %s: %w", events.KindName(kind, name), err)
	}
	if !metav1.IsControlledBy(obj, h.Owner) {
		return true, fmt.Errorf("%s: %w (%s); rename or delete it", events.KindName(kind, name), ErrNotOwned, h.ownerKindName())
	}
	return true, nil
}

// newMeta returns the metadata of an object the Handler creates: created-by label, cleanup
// label when temporary, Owner as controller.
func (h Handler) newMeta(obj client.Object, name string, temporary bool) error {
	obj.SetName(name)
	obj.SetNamespace(h.namespace())
	labels := map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}
	if temporary {
		labels[v1alpha1.CleanupLabel] = h.ownerUID()
	}
	obj.SetLabels(labels)
	if err := controllerutil.SetControllerReference(h.Owner, obj, h.Client.Scheme()); err != nil {
		return fmt.Errorf("setting the owner of %s: %w", name, err)
	}
	return nil
}

// create creates obj. An AlreadyExists error (the cache has not seen the object yet) becomes
// a short Wait.
func (h Handler) create(ctx context.Context, kind string, obj client.Object) (*Wait, error) {
	name := obj.GetName()
	log.FromContext(ctx).Info("Creating "+kind, "name", name)
	if err := h.Client.Create(ctx, obj); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return &Wait{Message: "waiting for " + events.KindName(kind, name) + " to appear", RequeueAfter: ConflictRetry}, nil
		}
		return nil, fmt.Errorf("creating %s: %w", events.KindName(kind, name), err)
	}
	return nil, nil
}

// patchObj applies mutate to obj and, if it changed anything, sends the difference as a merge
// patch; obj then holds what the API server returned (or, on failure, what it held). With lock, the patch carries the resourceVersion and a Conflict is reported as
// conflict=true without error (the caller looks again once its cache caught up).
func (h Handler) patchObj(ctx context.Context, obj client.Object, lock bool, mutate func(client.Object) bool) (conflict bool, err error) {
	base, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return false, fmt.Errorf("copying %s", obj.GetName())
	}
	if !mutate(obj) {
		return false, nil
	}
	log.FromContext(ctx).V(1).Info("Updating object", "name", obj.GetName())
	// A user object read once for the synchronization is read live after the controller
	// changed it (or failed to).
	defer h.users().Forget(obj)
	patch := client.MergeFrom(base)
	if lock {
		patch = client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
	}
	if err := h.Client.Patch(ctx, obj, patch); err != nil {
		// Leave the caller's copy as it was: the change was not made.
		reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(base).Elem())
		if apierrors.IsConflict(err) {
			log.FromContext(ctx).V(1).Info("Object changed, will look again", "name", obj.GetName())
			return true, nil
		}
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("updating %s: %w", obj.GetName(), err)
	}
	return false, nil
}

// setAnnotations sets (value non-nil) or removes (value nil) annotations on obj and reports
// whether anything changed.
func setAnnotations(obj client.Object, want map[string]*string) bool {
	ann := obj.GetAnnotations()
	changed := false
	for k, v := range want {
		cur, has := ann[k]
		switch {
		case v == nil && has:
			delete(ann, k)
			changed = true
		case v != nil && (!has || cur != *v):
			if ann == nil {
				ann = map[string]string{}
			}
			ann[k] = *v
			changed = true
		}
	}
	if changed {
		obj.SetAnnotations(ann)
	}
	return changed
}

// bindWait reports an object that is not bound (or ready) yet: a Wait with message msg whose
// RequeueAfter is the moment the not-bound warning is due, and the warning itself, once
// (remembered in BindWarningAnnotation), when the object has waited for longer than timeout.
func (h Handler) bindWait(ctx context.Context, obj client.Object, msg string, timeout time.Duration, reason, hint string) (*Wait, error) {
	w := &Wait{Message: msg}
	// Clock skew between the API server and us must not push the warning past timeout.
	age := max(h.clock().Since(obj.GetCreationTimestamp().Time), 0)
	if age < timeout {
		w.RequeueAfter = timeout - age
		return w, nil
	}
	if _, sent := obj.GetAnnotations()[BindWarningAnnotation]; sent {
		return w, nil
	}
	h.Events.Warning(obj, reason, events.ActionWaitForBinding, "%s; %s", msg, hint)
	now := h.clock().Now().UTC().Format(time.RFC3339)
	if _, err := h.patchObj(ctx, obj, false, func(o client.Object) bool {
		return setAnnotations(o, map[string]*string{BindWarningAnnotation: &now})
	}); err != nil {
		return nil, err
	}
	return w, nil
}

// pvcWait reports a PVC that is not bound yet (nil once it is bound).
func (h Handler) pvcWait(ctx context.Context, pvc *corev1.PersistentVolumeClaim, hint string) (*Wait, error) {
	if pvcBound(pvc) {
		return nil, nil
	}
	return h.bindWait(ctx, pvc, "waiting for "+events.KindName(kindPVC, pvc.Name)+" to bind",
		PVCBindTimeout, events.ReasonPVCNotBound, hint)
}

// pvcBound reports whether a PVC is bound.
func pvcBound(pvc *corev1.PersistentVolumeClaim) bool {
	return pvc.Status.Phase == corev1.ClaimBound
}

// snapshotReady reports whether a VolumeSnapshot can be used: bound to a content AND ready
// to use (the reference implementation accepted an unset readyToUse).
func snapshotReady(s *snapv1.VolumeSnapshot) bool {
	st := s.Status
	return st != nil && st.BoundVolumeSnapshotContentName != nil && *st.BoundVolumeSnapshotContentName != "" &&
		st.ReadyToUse != nil && *st.ReadyToUse
}

// snapshotWait reports a VolumeSnapshot that is not ready yet, with its error if it has one.
func (h Handler) snapshotWait(ctx context.Context, s *snapv1.VolumeSnapshot) (*Wait, error) {
	w, err := h.bindWait(ctx, s, "waiting for "+events.KindName(kindSnapshot, s.Name)+" to be ready",
		SnapshotBindTimeout, events.ReasonVolumeSnapshotNotBound,
		"check VolumeSnapshotClass name and ensure CSI driver supports volume snapshots")
	if err != nil || w == nil {
		return w, err
	}
	if s.Status != nil && s.Status.Error != nil && s.Status.Error.Message != nil {
		w.Message += ": " + *s.Status.Error.Message
	}
	return w, nil
}

// deletingWait is the Wait for an object of ours that is still being deleted (from a previous
// iteration); its deletion wakes the caller.
func deletingWait(kind, name string) *Wait {
	return &Wait{Message: "waiting for the previous " + events.KindName(kind, name) + " to be deleted"}
}
