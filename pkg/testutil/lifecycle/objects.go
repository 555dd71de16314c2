package lifecycle

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// DestinationCapacity is the capacity of the destinations of DestinationVolumes.
const DestinationCapacity = "2Gi"

// SourceVolumes are the volume options of the tests' sources.
func SourceVolumes(method v1alpha1.CopyMethodType) v1alpha1.ReplicationSourceVolumeOptions {
	return v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: method, VolumeSnapshotClassName: ptr.To(SnapshotClass)}
}

// DestinationVolumes are the volume options of the tests' destinations: a provisioned
// DestinationCapacity ReadWriteOnce volume, imaged by snapshots.
func DestinationVolumes() v1alpha1.ReplicationDestinationVolumeOptions {
	size := resource.MustParse(DestinationCapacity)
	return v1alpha1.ReplicationDestinationVolumeOptions{
		CopyMethod: v1alpha1.CopyMethodSnapshot, Capacity: &size,
		AccessModes:             []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		StorageClassName:        ptr.To(StorageClass),
		VolumeSnapshotClassName: ptr.To(SnapshotClass),
	}
}

// NewSource returns a ReplicationSource of the mover under test reading pvc with the given
// copy method (SourceVolumes) and trigger.
func (h *Harness) NewSource(ns, name, pvc string, method v1alpha1.CopyMethodType, trigger *v1alpha1.TriggerSpec) *v1alpha1.ReplicationSource {
	return h.SourceWith(ns, name, pvc, SourceVolumes(method), trigger)
}

// SourceWith returns a ReplicationSource of the mover under test with the volume options vol.
func (h *Harness) SourceWith(ns, name, pvc string, vol v1alpha1.ReplicationSourceVolumeOptions, trigger *v1alpha1.TriggerSpec) *v1alpha1.ReplicationSource {
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: pvc, Trigger: trigger},
	}
	h.SourceBlock(rs, vol)
	return rs
}

// NewDestination returns a ReplicationDestination of the mover under test triggered manually
// (manual), with the volume options DestinationVolumes.
func (h *Harness) NewDestination(ns, name, manual string) *v1alpha1.ReplicationDestination {
	return h.DestinationWith(ns, name, manual, DestinationVolumes())
}

// DestinationWith returns a manually triggered ReplicationDestination of the mover under test
// with the volume options vol.
func (h *Harness) DestinationWith(ns, name, manual string, vol v1alpha1.ReplicationDestinationVolumeOptions) *v1alpha1.ReplicationDestination {
	rd := &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       v1alpha1.ReplicationDestinationSpec{Trigger: &v1alpha1.TriggerSpec{Manual: manual}},
	}
	h.DestinationBlock(rd, vol)
	return rd
}

// Create creates obj, failing the test on an error.
func (h *Harness) Create(t *testing.T, obj client.Object) {
	t.Helper()
	Must(t, h.Client.Create(Context(t), obj))
}

// StartSource creates a namespace of the test's own, a bound source PVC "data" and a source
// name of it with the copy method and trigger, and returns them.
func (h *Harness) StartSource(t *testing.T, name string, method v1alpha1.CopyMethodType, trigger *v1alpha1.TriggerSpec) (string, *v1alpha1.ReplicationSource) {
	t.Helper()
	ns := h.Namespace(t, nil)
	h.SourcePVC(t, ns, "data")
	rs := h.NewSource(ns, name, "data", method, trigger)
	h.Create(t, rs)
	return ns, rs
}

// ProvisionedPVC names the PVC the controller provisions for the destination rd.
func (h *Harness) ProvisionedPVC(rd string) string {
	suffix := h.ProvisionedSuffix
	if suffix == "" {
		suffix = "dst"
	}
	return "volsync-" + rd + "-" + suffix
}

// DestinationPVC waits for the volume a destination rd provisions and binds it (so its Job
// is made).
func (h *Harness) DestinationPVC(t *testing.T, ns, rd string) *corev1.PersistentVolumeClaim {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	Eventually(t, "destination PVC of "+rd, func() error { return h.Get(Context(t), ns, h.ProvisionedPVC(rd), pvc) })
	h.Bind(t, pvc)
	return pvc
}

// WaitSynced waits until obj (a ReplicationSource or ReplicationDestination) has completed the
// synchronization of the manual trigger manual; obj holds what was read last.
func (h *Harness) WaitSynced(t *testing.T, obj client.Object, manual string) {
	t.Helper()
	Eventually(t, "synchronization "+manual+" of "+obj.GetName(), func() error {
		Must(t, h.Get(Context(t), obj.GetNamespace(), obj.GetName(), obj))
		st := Common(obj)
		if st == nil {
			return fmt.Errorf("no status")
		}
		FailOnForbidden(t, st)
		if st.LastSyncTime == nil || st.LastManualSync != manual {
			return fmt.Errorf("status: %+v", st)
		}
		return nil
	})
}
