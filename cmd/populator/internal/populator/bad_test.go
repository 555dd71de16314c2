package populator

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestBadInput: each reason a PVC cannot be populated is a Warning naming the cause and the
// fix, no prime PVC is made, and fixing the cause (where the PVC can stay) starts population.
func TestBadInput(t *testing.T) {
	t.Run("DirectDestination", func(t *testing.T) {
		f := newFixture(t)
		class := f.class("-imm", driver, storagev1.VolumeBindingImmediate)
		core := ""
		rd := f.rd("direct", &corev1.TypedLocalObjectReference{APIGroup: &core, Kind: "PersistentVolumeClaim", Name: "dest-pvc"})
		pvc := f.claim("restored", "direct", class, "1Gi", nil)
		f.event(pvc.Name, ReasonError, "latestImage is not a volumesnapshot", `PersistentVolumeClaim "dest-pvc"`, "copyMethod: Snapshot")
		f.noPrime(pvc)
		// Switched to Snapshot: the next image populates it.
		snap := f.snapshot("direct-snap", "1Gi", driver, rd, nil)
		f.setImage(rd, snapshotImage(snap.Name))
		f.prime(pvc)
	})
	t.Run("StorageClassMissing", func(t *testing.T) {
		f := newFixture(t)
		f.destination("1Gi", driver)
		pvc := f.claim("restored", "dest", f.ns+"-later", "1Gi", nil)
		f.event(pvc.Name, ReasonError, `StorageClass "`+f.ns+`-later" not found`)
		f.noPrime(pvc)
		f.class("-later", driver, storagev1.VolumeBindingImmediate)
		f.prime(pvc)
	})
	t.Run("InTreeStorageClass", func(t *testing.T) {
		f := newFixture(t)
		class := f.class("-intree", "kubernetes.io/no-provisioner", storagev1.VolumeBindingImmediate)
		f.destination("1Gi", driver)
		pvc := f.claim("restored", "dest", class, "1Gi", nil)
		f.event(pvc.Name, ReasonError, "in-tree volume plugin", "CSI driver")
		f.noPrime(pvc)
	})
	t.Run("OtherDriver", func(t *testing.T) {
		f := newFixture(t)
		class := f.class("-other", "other.csi.test", storagev1.VolumeBindingImmediate)
		f.destination("1Gi", driver)
		pvc := f.claim("restored", "dest", class, "1Gi", nil)
		f.event(pvc.Name, ReasonError, `provisioner "other.csi.test"`, `CSI driver "`+driver+`"`)
		f.noPrime(pvc)
	})
	t.Run("TooSmall", func(t *testing.T) {
		f := newFixture(t)
		class := f.class("-imm", driver, storagev1.VolumeBindingImmediate)
		f.destination("2Gi", driver)
		pvc := f.claim("restored", "dest", class, "1Gi", nil)
		f.event(pvc.Name, ReasonError, "requests 1Gi", "needs at least 2Gi")
		f.noPrime(pvc)
	})
	t.Run("SnapshotGone", func(t *testing.T) {
		f := newFixture(t)
		class := f.class("-imm", driver, storagev1.VolumeBindingImmediate)
		rd := f.rd("dest", snapshotImage("deleted-by-someone"))
		pvc := f.claim("restored", "dest", class, "1Gi", nil)
		f.event(pvc.Name, ReasonError, `VolumeSnapshot "deleted-by-someone"`, "is gone")
		f.noPrime(pvc)
		snap := f.snapshot("dest-next", "1Gi", driver, rd, nil)
		f.setImage(rd, snapshotImage(snap.Name))
		f.prime(pvc)
	})
	t.Run("NotOurPrime", func(t *testing.T) {
		// A user's PVC that happens to carry the prime name is neither used nor deleted.
		f := newFixture(t)
		class := f.class("-imm", driver, storagev1.VolumeBindingImmediate)
		pvc := f.claim("restored", "dest", class, "1Gi", nil)
		f.event(pvc.Name, ReasonRDMissing)
		mine := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: PrimeName(pvc.UID), Namespace: f.ns}, Spec: pvc.Spec}
		mine.Spec.DataSourceRef = nil
		f.create(mine)
		f.destination("1Gi", driver)
		f.event(pvc.Name, ReasonPVCCreationError, PrimeName(pvc.UID)+" already exists", "delete or rename it")
	})
}
