package replication

import (
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/kube"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/relationship"
)

// ErrNotOurs is returned when an object the relationship would write exists without its label.
var ErrNotOurs = errors.New("exists and does not belong to this relationship")

// Applied is what Apply made.
type Applied struct {
	// Source is the ReplicationSource as written, and Client its cluster's client.
	Source *v1alpha1.ReplicationSource
	Client client.Client
	// Destination is the ReplicationDestination as last read, and DstClient its client.
	Destination *v1alpha1.ReplicationDestination
	DstClient   client.Client
}

// Apply creates or updates the relationship's objects: the ReplicationDestination (and, for
// a Direct destination, its PVC), then, once the destination publishes its address and keys,
// a copy of the key Secret and the ReplicationSource on the source's cluster. d may be given
// defaults (the destination's capacity and access modes); the caller saves it. When Apply
// fails, the objects it created are removed again; objects it only updated are left as they
// were updated.
func Apply(ctx context.Context, e Env, f *relationship.File, d *relationship.ReplicationData) (_ *Applied, err error) {
	if d.Source == nil {
		return nil, ErrNoSource
	}
	if d.Destination == nil {
		return nil, ErrNoDestination
	}
	srcSpec, err := d.Source.Source.SourceSpec()
	if err != nil {
		return nil, err
	}
	srcC, err := e.Clients(d.Source.Cluster)
	if err != nil {
		return nil, fmt.Errorf("source cluster: %w", err)
	}
	dstC, err := e.Clients(d.Destination.Cluster)
	if err != nil {
		return nil, fmt.Errorf("destination cluster: %w", err)
	}
	var undo kube.Undo
	defer undo.OnFailure(&err, e.Out)

	srcPVC := &corev1.PersistentVolumeClaim{}
	if err := srcC.Get(ctx, client.ObjectKey{Namespace: d.Source.Namespace, Name: d.Source.PVCName}, srcPVC); err != nil {
		return nil, fmt.Errorf("source PVC %s/%s: %w", d.Source.Namespace, d.Source.PVCName, err)
	}
	dst := d.Destination
	opts := &dst.Destination.VolumeOptions
	if v1alpha1.CopyMethodType(opts.CopyMethod) == v1alpha1.CopyMethodSnapshot {
		// The destination provisions its own PVC: like the source's unless overridden.
		if opts.Capacity == "" {
			opts.Capacity = relationship.CapacityString(ptr.To(srcPVC.Spec.Resources.Requests[corev1.ResourceStorage]))
		}
		if len(opts.AccessModes) == 0 {
			opts.AccessModes = relationship.ModeStrings(srcPVC.Spec.AccessModes)
		}
	}
	dstSpec, err := dst.Destination.DestinationSpec()
	if err != nil {
		return nil, err
	}
	if v1alpha1.CopyMethodType(opts.CopyMethod) != v1alpha1.CopyMethodSnapshot {
		// Direct: the data lands in a PVC named like the destination, which stays after the
		// relationship is deleted (it is the replicated data).
		if err := ensureDestinationPVC(ctx, e, dstC, &undo, dst, dstSpec, srcPVC); err != nil {
			return nil, err
		}
		dstSpec.DestinationPVC = ptr.To(dst.RDName)
	}

	rd := &v1alpha1.ReplicationDestination{ObjectMeta: metav1.ObjectMeta{Name: dst.RDName, Namespace: dst.Namespace}}
	if err := createOrUpdate(ctx, e, dstC, &undo, f.ID, rd, func() { rd.Spec.Rsync = dstSpec }); err != nil {
		return nil, err
	}

	var addr string
	var port *int32
	var keys string
	if err := e.poller().Wait(ctx, cmpOr(e.KeysTimeout, DefaultKeysTimeout), "the address and keys of destination "+dst.Namespace+"/"+dst.RDName,
		func(ctx context.Context) (bool, string, error) {
			if err := dstC.Get(ctx, client.ObjectKeyFromObject(rd), rd); err != nil {
				return false, "", err
			}
			if rd.Status == nil || rd.Status.Rsync == nil || ptr.Deref(rd.Status.Rsync.Address, "") == "" || ptr.Deref(rd.Status.Rsync.SSHKeys, "") == "" {
				st := (*v1alpha1.CommonStatus)(nil)
				if rd.Status != nil {
					st = &rd.Status.CommonStatus
				}
				return false, kube.Describe(st), nil
			}
			addr, port, keys = *rd.Status.Rsync.Address, rd.Status.Rsync.Port, *rd.Status.Rsync.SSHKeys
			return true, "", nil
		}); err != nil {
		return nil, err
	}
	dstKeys := &corev1.Secret{}
	if err := dstC.Get(ctx, client.ObjectKey{Namespace: dst.Namespace, Name: keys}, dstKeys); err != nil {
		return nil, fmt.Errorf("the destination's key Secret %s/%s: %w", dst.Namespace, keys, err)
	}

	src := d.Source
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: src.RSName, Namespace: src.Namespace}}
	if err := createOrUpdate(ctx, e, srcC, &undo, f.ID, secret, func() {
		secret.Type = corev1.SecretTypeOpaque
		secret.Data = maps.Clone(dstKeys.Data)
	}); err != nil {
		return nil, err
	}
	srcSpec.Address = ptr.To(addr)
	srcSpec.Port = port
	srcSpec.SSHKeys = ptr.To(src.RSName)
	rs := &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Name: src.RSName, Namespace: src.Namespace}}
	trig := &v1alpha1.ReplicationSourceTriggerSpec{Schedule: src.Trigger.Schedule, Manual: src.Trigger.Manual}
	if err := createOrUpdate(ctx, e, srcC, &undo, f.ID, rs, func() {
		rs.Spec = v1alpha1.ReplicationSourceSpec{SourcePVC: src.PVCName, Trigger: trig, Rsync: srcSpec, Paused: rs.Spec.Paused}
	}); err != nil {
		return nil, err
	}
	return &Applied{Source: rs, Client: srcC, Destination: rd, DstClient: dstC}, nil
}

// createOrUpdate writes obj with the relationship label after mutate. An existing object
// without the label is not taken over.
func createOrUpdate(ctx context.Context, e Env, c client.Client, undo *kube.Undo, id string, obj client.Object, mutate func()) error {
	kind := fmt.Sprintf("%T", obj)
	if gvk, err := c.GroupVersionKindFor(obj); err == nil {
		kind = gvk.Kind
	}
	op, err := controllerutil.CreateOrUpdate(ctx, c, obj, func() error {
		created := obj.GetCreationTimestamp()
		if !created.IsZero() && obj.GetLabels()[kube.RelationshipLabel] != id {
			return fmt.Errorf("%s %s/%s %w (label %s=%s): delete it or choose another name", kind, obj.GetNamespace(), obj.GetName(),
				ErrNotOurs, kube.RelationshipLabel, id)
		}
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, kube.Labels(id))
		obj.SetLabels(labels)
		mutate()
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotOurs) {
			return err
		}
		return fmt.Errorf("writing %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	if op == controllerutil.OperationResultCreated {
		undo.Created(c, obj)
	}
	if op != controllerutil.OperationResultNone {
		e.printf("%s %s %s/%s\n", op, kind, obj.GetNamespace(), obj.GetName())
	}
	return nil
}

// ensureDestinationPVC creates the PVC of a Direct destination unless it exists: access modes
// and capacity of the source unless the destination's options say otherwise.
func ensureDestinationPVC(ctx context.Context, e Env, c client.Client, undo *kube.Undo, dst *relationship.ReplicationDestination,
	spec *v1alpha1.ReplicationDestinationRsyncSpec, srcPVC *corev1.PersistentVolumeClaim) error {
	pvc := &corev1.PersistentVolumeClaim{}
	key := client.ObjectKey{Namespace: dst.Namespace, Name: dst.RDName}
	err := c.Get(ctx, key, pvc)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("destination PVC %s: %w", key, err)
	}
	modes := srcPVC.Spec.AccessModes
	if len(spec.AccessModes) > 0 {
		modes = spec.AccessModes
	}
	capacity := srcPVC.Spec.Resources.Requests[corev1.ResourceStorage]
	if spec.Capacity != nil {
		capacity = *spec.Capacity
	}
	pvc = &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      modes,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: capacity}},
			StorageClassName: spec.StorageClassName,
		},
	}
	if err := c.Create(ctx, pvc); err != nil {
		return fmt.Errorf("creating destination PVC %s: %w", key, err)
	}
	undo.Created(c, pvc)
	e.printf("created PersistentVolumeClaim %s (%s)\n", key, capacity.String())
	return nil
}
