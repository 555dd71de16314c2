package populator

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kevents "k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// TestFinishOnceFromAStaleRead: a reconcile that reads the prime PVC from a cache that has
// not seen its deletion yet (the prime PVC is still there, held by a finalizer as
// pvc-protection holds it) neither deletes it again nor says "finished" a second time.
// The PVC has no ReplicationDestination source, so the populator running in the test
// control plane leaves it alone and only this reconciler acts.
func TestFinishOnceFromAStaleRead(t *testing.T) {
	f := newFixture(t)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "done", Namespace: f.ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	f.create(pvc)
	prime := newPrime(pvc, "image")
	prime.Finalizers = []string{"test.volsync.backube/hold"}
	if err := controllerutil.SetControllerReference(pvc, prime, env.Scheme); err != nil {
		t.Fatal(err)
	}
	f.create(prime)
	t.Cleanup(func() {
		ctx := context.Background()
		p := &corev1.PersistentVolumeClaim{}
		if env.Client.Get(ctx, client.ObjectKeyFromObject(prime), p) == nil {
			p.Finalizers = nil
			_ = env.Client.Update(ctx, p)
		}
	})
	// Handed over: the user's PVC has the volume, the prime PVC lost it.
	f.bindClaim(pvc, "pv-done", corev1.ClaimBound)
	f.bindClaim(prime, "pv-done", corev1.ClaimLost)
	stale := prime.DeepCopy()

	rec := kevents.NewFakeRecorder(10)
	r := &Reconciler{Client: env.Client, Scheme: env.Scheme, Recorder: rec}
	for range 2 {
		if err := r.finish(f.ctx, pvc, stale.DeepCopy()); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(prime), prime); err != nil || prime.DeletionTimestamp == nil {
		t.Fatalf("the prime PVC is not being deleted: %v, %+v", err, prime.ObjectMeta)
	}
	finished := 0
	for len(rec.Events) > 0 {
		if e := <-rec.Events; strings.Contains(e, ReasonFinished) {
			finished++
		}
	}
	if finished != 1 {
		t.Errorf("%d %s events, want 1", finished, ReasonFinished)
	}
}
