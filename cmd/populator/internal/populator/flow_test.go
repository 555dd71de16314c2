package populator

import (
	"fmt"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// TestPopulate runs the whole flow: a PVC created before its ReplicationDestination waits,
// is restored from the first latest image through a prime PVC, gets the prime PVC's volume,
// and the prime PVC and the snapshot's marks go; "finished" is said once, and later updates
// of the PVC write nothing.
func TestPopulate(t *testing.T) {
	f := newFixture(t)
	class := f.class("-imm", driver, storagev1.VolumeBindingImmediate)
	pvc := f.claim("restored", "dest", class, "1Gi", nil)
	f.event(pvc.Name, ReasonRDMissing, `ReplicationDestination "dest" not found`, "dataSourceRef.name")

	rd := f.rd("dest", nil)
	f.event(pvc.Name, ReasonNoLatestImage, "waiting for replicationdestination to have latestImage")
	f.noPrime(pvc)

	snap := f.snapshot("dest-snap-1", "1Gi", driver, rd, nil)
	f.setImage(rd, snapshotImage(snap.Name))
	prime := f.prime(pvc)
	if ref := prime.Spec.DataSourceRef; ref == nil || ref.Kind != snapshotKind || *ref.APIGroup != snapshotGroup || ref.Name != snap.Name {
		t.Fatalf("prime PVC data source = %+v, want the snapshot %s", ref, snap.Name)
	}
	if !metav1.IsControlledBy(prime, pvc) || prime.Labels[v1alpha1.PopulatorPVCForLabel] != pvc.Name ||
		prime.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue || *prime.Spec.StorageClassName != class {
		t.Fatalf("prime PVC metadata/spec: %+v / %+v", prime.ObjectMeta, prime.Spec)
	}
	f.event(pvc.Name, ReasonPVCCreated, prime.Name, snap.Name)

	// While populating, the snapshot is marked for the PVC and owned by the prime PVC too.
	f.eventually("the snapshot is protected", func() error {
		s := &snapv1.VolumeSnapshot{}
		if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(snap), s); err != nil {
			return err
		}
		if s.Labels[SnapshotLabel(pvc.UID)] != pvc.Name || !hasOwner(s, prime.UID) || !hasOwner(s, rd.UID) {
			return fmt.Errorf("labels %v owners %v", s.Labels, s.OwnerReferences)
		}
		return nil
	})

	pv := f.provision(prime)
	f.handedOver(pv, pvc)
	f.eventually("the volume is marked populated", func() error {
		if got := pv.Annotations[v1alpha1.PopulatedFromAnnotation]; got != f.ns+"/"+snap.Name {
			return fmt.Errorf("populated-from %q", got)
		}
		return nil
	})

	// The PV binder binds the PVC and loses the prime PVC.
	f.bindClaim(pvc, pv.Name, corev1.ClaimBound)
	f.bindClaim(prime, pv.Name, corev1.ClaimLost)
	f.eventually("the prime PVC is deleted", func() error {
		p := &corev1.PersistentVolumeClaim{}
		err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(prime), p)
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		case p.DeletionTimestamp != nil:
			// No kube-controller-manager removes the pvc-protection finalizer here.
			p.Finalizers = nil
			return env.Client.Update(f.ctx, p)
		}
		return fmt.Errorf("still there")
	})
	f.event(pvc.Name, ReasonFinished, "Populator finished", snap.Name)
	f.eventually("the snapshot's mark is removed", func() error {
		s := &snapv1.VolumeSnapshot{}
		if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(snap), s); err != nil {
			return err
		}
		if _, marked := s.Labels[SnapshotLabel(pvc.UID)]; marked {
			return fmt.Errorf("labels %v", s.Labels)
		}
		return nil
	})

	// At rest: later updates of the populated PVC are reconciled without a write or an event.
	settle(f)
	before := writes.Writes(f.ns)
	for i := range 3 {
		f.touch(pvc, fmt.Sprint(i))
	}
	settle(f)
	if got := writes.Writes(f.ns) - before; got != 0 {
		t.Errorf("%d writes after the PVC was populated, want none", got)
	}
	f.once(pvc.Name, ReasonFinished)
	f.once(pvc.Name, ReasonPVCCreated)
	f.once(pvc.Name, ReasonRDMissing)
	f.once(pvc.Name, ReasonNoLatestImage)
}

// settle waits until the populator has seen the test's last change: a poll on the PVCs'
// cache would not tell, so it waits for the populator's writes to stop changing for a while.
func settle(f *fixture) {
	f.t.Helper()
	last, stable := writes.Writes(f.ns), 0
	f.eventually("the populator settles", func() error {
		if n := writes.Writes(f.ns); n != last {
			last, stable = n, 0
			return fmt.Errorf("still writing")
		}
		stable++
		if stable < 10 {
			return fmt.Errorf("quiet for %d polls", stable)
		}
		return nil
	})
}

// TestNewImageAndDoNotDelete: a PVC created after a new synchronization is restored from the
// new image; a snapshot the user keeps (do-not-delete) is not owned by the prime PVC, so it
// survives the prime PVC; the other is.
func TestNewImageAndDoNotDelete(t *testing.T) {
	f := newFixture(t)
	class := f.class("-imm", driver, storagev1.VolumeBindingImmediate)
	rd := f.rd("dest", nil)
	kept := f.snapshot("dest-kept", "1Gi", driver, nil, map[string]string{v1alpha1.DoNotDeleteLabel: "true"})
	f.setImage(rd, snapshotImage(kept.Name))
	first := f.claim("first", "dest", class, "1Gi", nil)
	p1 := f.prime(first)

	second := f.snapshot("dest-second", "1Gi", driver, rd, nil)
	f.setImage(rd, snapshotImage(second.Name))
	late := f.claim("late", "dest", class, "2Gi", nil)
	p2 := f.prime(late)
	if p2.Spec.DataSourceRef.Name != second.Name || p1.Spec.DataSourceRef.Name != kept.Name {
		t.Fatalf("prime sources = %s, %s; want %s, %s", p1.Spec.DataSourceRef.Name, p2.Spec.DataSourceRef.Name, kept.Name, second.Name)
	}
	f.eventually("the new image is owned by its prime PVC", func() error {
		s := &snapv1.VolumeSnapshot{}
		if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(second), s); err != nil {
			return err
		}
		if !hasOwner(s, p2.UID) {
			return fmt.Errorf("owners %v", s.OwnerReferences)
		}
		return nil
	})
	// Give the populator every chance to (wrongly) take the kept snapshot.
	settle(f)
	s := &snapv1.VolumeSnapshot{}
	if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(kept), s); err != nil {
		t.Fatal(err)
	}
	if len(s.OwnerReferences) != 0 || s.Labels[SnapshotLabel(first.UID)] != first.Name {
		t.Fatalf("kept snapshot: owners %v labels %v; want no owner and the populator's mark", s.OwnerReferences, s.Labels)
	}
}

// TestWaitForFirstConsumer: no prime PVC before the scheduler picks a node; then one for that node.
func TestWaitForFirstConsumer(t *testing.T) {
	f := newFixture(t)
	class := f.class("-wffc", driver, storagev1.VolumeBindingWaitForFirstConsumer)
	f.destination("1Gi", driver)
	pvc := f.claim("restored", "dest", class, "1Gi", nil)
	settle(f)
	f.noPrime(pvc)
	if evs := f.events(pvc.Name, ReasonPVCCreated); len(evs) != 0 {
		t.Fatalf("events before a consumer: %+v", evs)
	}
	f.eventually("annotating the selected node", func() error {
		cur := &corev1.PersistentVolumeClaim{}
		if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(pvc), cur); err != nil {
			return err
		}
		cur.Annotations = map[string]string{selectedNodeAnnotation: "node-1"}
		return env.Client.Update(f.ctx, cur)
	})
	prime := f.prime(pvc)
	if got := prime.Annotations[selectedNodeAnnotation]; got != "node-1" {
		t.Fatalf("prime selected node = %q, want node-1", got)
	}
}

// TestRegistration: without the VolumePopulator CRD the PVC is told and populated anyway;
// once the CRD exists, the next population registers ReplicationDestination.
func TestRegistration(t *testing.T) {
	f := newFixture(t)
	class := f.class("-imm", driver, storagev1.VolumeBindingImmediate)
	f.destination("1Gi", driver)
	before := f.claim("before-crd", "dest", class, "1Gi", nil)
	f.prime(before)
	f.event(before.Name, ReasonNotRegistered, "VolumePopulator CRD", "populating anyway")

	installVolumePopulatorCRD(f)
	after := f.claim("after-crd", "dest", class, "1Gi", nil)
	f.prime(after)
	f.eventually("the VolumePopulator is registered", func() error {
		vp := volumePopulator()
		if err := env.Client.Get(f.ctx, client.ObjectKey{Name: PopulatorName}, vp); err != nil {
			return err
		}
		sk, _, _ := unstructuredStrings(vp.Object, "sourceKind")
		if sk["group"] != v1alpha1.GroupVersion.Group || sk["kind"] != "ReplicationDestination" {
			return fmt.Errorf("sourceKind %v", sk)
		}
		return nil
	})
	if evs := f.events(after.Name, ReasonNotRegistered); len(evs) != 0 {
		t.Fatalf("NotRegistered events once registered: %+v", evs)
	}
}

// TestReplacedWhileWaiting: the image marked for a first attempt that could not create the
// prime PVC is replaced by its ReplicationDestination (which, seeing the mark, only dropped its
// ownership); the population uses the new image, and the first one, which nobody owns any
// more, is deleted when the population finishes.
func TestReplacedWhileWaiting(t *testing.T) {
	f := newFixture(t)
	class := f.class("-imm", driver, storagev1.VolumeBindingImmediate)
	rd := f.rd("dest", nil)
	old := f.snapshot("dest-old", "1Gi", driver, nil, map[string]string{v1alpha1.CleanupLabel: string(rd.UID)})
	newer := f.snapshot("dest-new", "1Gi", driver, rd, nil)
	f.setImage(rd, snapshotImage(newer.Name))
	pvc := f.claim("restored", "dest", class, "1Gi", nil)
	// As a first attempt on the old image would have left it.
	old.Labels[SnapshotLabel(pvc.UID)] = pvc.Name
	if err := env.Client.Update(f.ctx, old); err != nil {
		t.Fatal(err)
	}
	prime := f.prime(pvc)
	if prime.Spec.DataSourceRef.Name != newer.Name {
		t.Fatalf("restoring from %s, want %s", prime.Spec.DataSourceRef.Name, newer.Name)
	}
	pv := f.provision(prime)
	f.handedOver(pv, pvc)
	f.bindClaim(pvc, pv.Name, corev1.ClaimBound)
	f.bindClaim(prime, pv.Name, corev1.ClaimLost)
	f.event(pvc.Name, ReasonFinished)
	f.eventually("the replaced image is deleted", func() error {
		err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(old), &snapv1.VolumeSnapshot{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %w)", err)
	})
	if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(newer), &snapv1.VolumeSnapshot{}); err != nil {
		t.Fatalf("the latest image: %v", err)
	}
}
