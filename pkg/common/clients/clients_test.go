package clients

import (
	"context"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// The routing of Split is pure decision logic: a fake "cache" and a fake "API server" show
// which one each read goes to.
func TestSplitRouting(t *testing.T) {
	scheme, err := testenv.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	ours := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "ours", Namespace: "ns",
		Labels: map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}}}
	users := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "users", Namespace: "ns"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"}}
	cache := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ours.DeepCopy()).Build()
	api := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ours.DeepCopy(), users.DeepCopy(), pod.DeepCopy()).Build()
	s, err := NewSplit(cache, api)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"ours", "users"} {
		if err := s.Get(ctx, client.ObjectKey{Namespace: "ns", Name: name}, &corev1.PersistentVolumeClaim{}); err != nil {
			t.Errorf("Get PVC %s: %v (a cache miss must fall back to the API server)", name, err)
		}
	}
	if err := s.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "app"}, &corev1.Pod{}); err != nil {
		t.Errorf("pods are read from the API server: %v", err)
	}
	pvcs := &corev1.PersistentVolumeClaimList{}
	if err := s.List(ctx, pvcs); err != nil || len(pvcs.Items) != 1 {
		t.Errorf("lists of owned types come from the cache: %d items, %v", len(pvcs.Items), err)
	}
	pods := &corev1.PodList{}
	if err := s.List(ctx, pods); err != nil || len(pods.Items) != 1 {
		t.Errorf("lists of other types come from the API server: %d items, %v", len(pods.Items), err)
	}
	if !s.isCached(&batchv1.JobList{}) || s.isCached(&corev1.ServiceAccount{}) {
		t.Error("cached types misclassified")
	}
}

func TestCacheOptionsSelectOurObjects(t *testing.T) {
	opts := CacheOptions()
	if len(opts.ByObject) != len(OwnedTypes()) {
		t.Fatalf("every owned type needs a label-restricted cache: %d of %d", len(opts.ByObject), len(OwnedTypes()))
	}
	for o, by := range opts.ByObject {
		if by.Label.String() != v1alpha1.CreatedByLabel+"="+v1alpha1.CreatedByValue {
			t.Errorf("%T cache selector %q", o, by.Label)
		}
	}
}
