//go:build e2e

package populator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// Timeouts of the populator's steps on the local cluster.
const (
	populateTimeout = 3 * time.Minute
	eventTimeout    = time.Minute
	deleteTimeout   = 2 * time.Minute
)

// The populator's event reasons (cmd/populator/internal/populator).
const (
	reasonFinished   = "VolSyncPopulatorFinished"
	reasonRDMissing  = "VolSyncPopulatorReplicationDestinationMissing"
	reasonPVCCreated = "VolSyncPopulatorPVCCreated"
	reasonCreateErr  = "VolSyncPopulatorPVCCreationError"
)

// TestPopulator runs the cases in parallel, each in namespaces of its own.
func TestPopulator(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"RsyncTLS", rsyncTLS},
		{"Rclone", rclone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

// fromRD is a PVC's data source: the ReplicationDestination rd.
func fromRD(rd string) *corev1.TypedLocalObjectReference {
	return &corev1.TypedLocalObjectReference{APIGroup: ptr.To(v1alpha1.GroupVersion.Group), Kind: "ReplicationDestination", Name: rd}
}

// claim creates a PVC populated from the ReplicationDestination rd, of the StorageClass class
// ("" for the default).
func claim(t *testing.T, ns, name, rd, class string) *corev1.PersistentVolumeClaim {
	t.Helper()
	pvc := volume.NewPVC(ns, name, fromRD(rd))
	if class != "" {
		pvc.Spec.StorageClassName = &class
	}
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), pvc))
	return pvc
}

// waitBound waits for the PVC to be bound and returns it.
func waitBound(t *testing.T, ns, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	ctx := cluster.Ctx(t, populateTimeout)
	cluster.Eventually(t, populateTimeout, "PVC "+ns+"/"+name+" to be populated and bound", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pvc); err != nil {
			return err
		}
		if pvc.Status.Phase != corev1.ClaimBound {
			return fmt.Errorf("phase %s; events %v", pvc.Status.Phase, cluster.EventNotes(t, ns, name))
		}
		return nil
	})
	return pvc
}

// expectEvent waits for an event with reason about the PVC whose note contains every part.
func expectEvent(t *testing.T, ns, pvc, reason string, parts ...string) {
	t.Helper()
	cluster.Eventually(t, eventTimeout, reason+" event on PVC "+pvc, func() error {
		notes := cluster.EventNotes(t, ns, pvc)[reason]
		for _, n := range notes {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(n, p)
			}
			if ok {
				return nil
			}
		}
		return fmt.Errorf("%s notes: %q", reason, notes)
	})
}

// expectPopulated waits for the PVC to be bound, checks its tree's digest against want, that
// the populator said it finished exactly once, and that its prime PVC is gone.
func expectPopulated(t *testing.T, ns, name, want, what string, digest func(t *testing.T, ns, pvc string) string) *corev1.PersistentVolumeClaim {
	t.Helper()
	pvc := waitBound(t, ns, name)
	if got := digest(t, ns, name); got != want {
		t.Fatalf("populated PVC %s (%s) differs:\nsource    %s\npopulated %s", name, what, want, got)
	}
	expectEvent(t, ns, name, reasonFinished, "Populator finished")
	cluster.WaitGone(t, deleteTimeout, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vs-prime-" + string(pvc.UID)}})
	if n := len(cluster.EventNotes(t, ns, name)[reasonFinished]); n != 1 {
		t.Errorf("%d %s events on %s, want 1", n, reasonFinished, name)
	}
	return pvc
}

// snapshot reads a VolumeSnapshot (nil if it does not exist).
func snapshot(t *testing.T, ns, name string) *snapv1.VolumeSnapshot {
	t.Helper()
	s := &snapv1.VolumeSnapshot{}
	err := cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Namespace: ns, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil
	}
	cluster.Must(t, err)
	return s
}

// holdMessage is the refusal of the admission policy that holds population back.
const holdMessage = "populator PVCs are held back in this namespace (e2e)"

// holdPopulation makes the API server refuse the prime PVCs of ns of a StorageClass of their
// own (a ValidatingAdmissionPolicy, as a policy or a quota would refuse them), and returns the
// class and the function that releases them. Both wait until the API server applies the
// change (a dry-run create of a prime PVC). A ResourceQuota is not used: its controller may
// recount from a stale cache and let a prime PVC through.
func holdPopulation(t *testing.T, ns string) (class string, release func()) {
	t.Helper()
	ctx := cluster.Ctx(t, time.Minute)
	name := ns + "-hold"
	class = heldClass(t, name)
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"persistentvolumeclaims"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf("!object.metadata.name.startsWith('vs-prime-') || object.spec.storageClassName != '%s'", class),
				Message:    holdMessage,
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}},
		},
	}
	for _, o := range []client.Object{policy, binding} {
		cluster.Must(t, cluster.C.Create(ctx, o))
		t.Cleanup(func() { _ = cluster.C.Delete(cluster.Ctx(t, time.Minute), o) })
	}
	waitPrimeAdmission(t, ns, class, false)
	return class, func() {
		t.Helper()
		cluster.Must(t, cluster.C.Delete(cluster.Ctx(t, time.Minute), binding))
		waitPrimeAdmission(t, ns, class, true)
	}
}

// heldClass creates a StorageClass like the default one, for the PVCs whose population is held.
func heldClass(t *testing.T, name string) string {
	t.Helper()
	ctx := cluster.Ctx(t, time.Minute)
	def := &storagev1.StorageClass{}
	cluster.Must(t, cluster.C.Get(ctx, client.ObjectKey{Name: "csi-hostpath"}, def))
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: def.Provisioner,
		Parameters: def.Parameters, ReclaimPolicy: def.ReclaimPolicy, VolumeBindingMode: def.VolumeBindingMode}
	cluster.Must(t, cluster.C.Create(ctx, sc))
	t.Cleanup(func() { _ = cluster.C.Delete(cluster.Ctx(t, time.Minute), sc) })
	return name
}

// waitPrimeAdmission waits until the API server admits a prime PVC of class in ns (allowed)
// or refuses it.
func waitPrimeAdmission(t *testing.T, ns, class string, allowed bool) {
	t.Helper()
	cluster.Eventually(t, time.Minute, fmt.Sprintf("prime PVCs of %s in %s to be allowed: %v", class, ns, allowed), func() error {
		probe := volume.NewPVC(ns, "vs-prime-probe", nil)
		probe.Spec.StorageClassName = &class
		err := cluster.C.Create(cluster.Ctx(t, time.Minute), probe, client.DryRunAll)
		switch {
		case allowed && err != nil:
			return err
		case !allowed && err == nil:
			return fmt.Errorf("a prime PVC is admitted")
		case !allowed && !strings.Contains(err.Error(), holdMessage):
			return err
		}
		return nil
	})
}
