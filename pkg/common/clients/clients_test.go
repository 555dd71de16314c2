package clients

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// countingReader counts the reads that reach the "API server".
type countingReader struct {
	client.Reader
	gets, lists atomic.Int32
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.gets.Add(1)
	return c.Reader.Get(ctx, key, obj, opts...)
}

func (c *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.lists.Add(1)
	return c.Reader.List(ctx, list, opts...)
}

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
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	cache := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ours.DeepCopy(), pod.DeepCopy()).Build()
	api := &countingReader{Reader: fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(ours.DeepCopy(), users.DeepCopy(), pod.DeepCopy(), node.DeepCopy()).Build()}
	s, err := NewSplit(cache, api)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "ours"}, &corev1.PersistentVolumeClaim{}); err != nil {
		t.Errorf("Get our PVC: %v", err)
	}
	// A miss of a cached kind is trusted: no live GET behind it (users' objects of these kinds
	// are read through UserReads).
	if err := s.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "users"}, &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
		t.Errorf("Get of a PVC the cache does not hold: %v, want NotFound from the cache", err)
	}
	if err := s.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "app"}, &corev1.Pod{}); err != nil {
		t.Errorf("pods come from the (stripped) pod cache: %v", err)
	}
	if n := api.gets.Load(); n != 0 {
		t.Errorf("%d live GETs for cached kinds, want 0", n)
	}
	if err := s.Get(ctx, client.ObjectKey{Name: "n1"}, &corev1.Node{}); err != nil || api.gets.Load() != 1 {
		t.Errorf("nodes are read live: %v (%d live GETs)", err, api.gets.Load())
	}
	pvcs := &corev1.PersistentVolumeClaimList{}
	if err := s.List(ctx, pvcs); err != nil || len(pvcs.Items) != 1 {
		t.Errorf("lists of owned types come from the cache: %d items, %v", len(pvcs.Items), err)
	}
	nodes := &corev1.NodeList{}
	if err := s.List(ctx, nodes); err != nil || len(nodes.Items) != 1 || api.lists.Load() != 1 {
		t.Errorf("lists of other types come from the API server: %d items, %v", len(nodes.Items), err)
	}
	if !s.isCached(&batchv1.JobList{}) || !s.isCached(&corev1.ServiceAccount{}) || s.isCached(&corev1.ConfigMap{}) {
		t.Error("cached types misclassified")
	}
}

// TestSplitRemembersItsCreates: an object this process created and its cache has not received
// yet is ErrNotCachedYet (a quiet race), not a miss that would create it again; once the cache
// has it, or after CreatedGrace, or once deleted, reads are the cache's again.
func TestSplitRemembersItsCreates(t *testing.T) {
	scheme, err := testenv.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	api := fake.NewClientBuilder().WithScheme(scheme).Build()
	lagging := fake.NewClientBuilder().WithScheme(scheme).Build() // a cache that has seen nothing yet
	s, err := NewSplit(laggingClient{Client: api, cache: lagging}, api)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Now())
	s.created = newCreations(clk)

	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "mover"}}
	if err := s.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(job)
	if err := s.Get(ctx, key, &batchv1.Job{}); !errors.Is(err, ErrNotCachedYet) {
		t.Fatalf("Get right after Create: %v, want ErrNotCachedYet", err)
	}
	clk.Step(CreatedGrace)
	if err := s.Get(ctx, key, &batchv1.Job{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Get after CreatedGrace: %v, want the cache's NotFound", err)
	}

	other := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "other"}}
	if err := s.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(ctx, client.ObjectKeyFromObject(other), &batchv1.Job{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Get after Delete: %v, want NotFound", err)
	}

	// The cache catches up with a create: the entry goes.
	third := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "third"}}
	if err := s.Create(ctx, third); err != nil {
		t.Fatal(err)
	}
	seen := third.DeepCopy()
	seen.ResourceVersion = ""
	if err := lagging.Create(ctx, seen); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(ctx, client.ObjectKeyFromObject(third), &batchv1.Job{}); err != nil {
		t.Fatal(err)
	}
	if err := lagging.Delete(ctx, seen); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(ctx, client.ObjectKeyFromObject(third), &batchv1.Job{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Get once the cache saw the object go: %v, want NotFound", err)
	}
}

// laggingClient writes to the "API server" and reads from a "cache" the test fills itself.
type laggingClient struct {
	client.Client
	cache client.Reader
}

func (c laggingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.cache.Get(ctx, key, obj, opts...)
}

func TestCacheOptionsSelectOurObjects(t *testing.T) {
	opts := CacheOptions()
	byType := map[string]cache.ByObject{}
	for o, by := range opts.ByObject {
		name := fmt.Sprintf("%T", o)
		if _, dup := byType[name]; dup {
			t.Errorf("%s has two cache configurations; the cache would use either", name)
		}
		byType[name] = by
	}
	for _, o := range OwnedTypes() {
		by, ok := byType[fmt.Sprintf("%T", o)]
		if !ok {
			t.Errorf("%T has no label-restricted cache", o)
			continue
		}
		if by.Label.String() != v1alpha1.CreatedByLabel+"="+v1alpha1.CreatedByValue {
			t.Errorf("%T cache selector %q", o, by.Label)
		}
	}
	if byType["*v1.Pod"].Transform == nil {
		t.Error("pods are cached whole")
	}
	if byType["*v1.Job"].Transform == nil {
		t.Error("Jobs are cached with their pod templates")
	}
	if opts.DefaultTransform == nil {
		t.Error("managedFields are kept in the cache")
	}
}

func TestUserReadsOncePerSynchronization(t *testing.T) {
	scheme, err := testenv.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns"}}
	api := &countingReader{Reader: fake.NewClientBuilder().WithScheme(scheme).WithObjects(pvc).Build()}
	reads := NewUserReads()
	owner := types.NamespacedName{Namespace: "ns", Name: "rs"}
	sync := "2026-12-01T00:00:00Z"
	r := reads.For(owner, api, func() string { return sync })
	key := client.ObjectKeyFromObject(pvc)

	get := func(what string, wantGets int32) *corev1.PersistentVolumeClaim {
		t.Helper()
		got := &corev1.PersistentVolumeClaim{}
		if err := r.Get(ctx, key, got); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := api.gets.Load(); n != wantGets {
			t.Fatalf("%s: %d live GETs, want %d", what, n, wantGets)
		}
		return got
	}
	first := get("first read", 1)
	first.Labels = map[string]string{"changed": "by the caller"}
	if again := get("same synchronization", 1); again.Labels != nil {
		t.Fatal("the remembered copy is shared with the caller")
	}
	r.Forget(pvc)
	get("after Forget", 2)
	get("remembered again", 2)

	sync = "2026-12-01T00:01:00Z"
	get("next synchronization", 3)
	reads.Drop(owner)
	get("after Drop", 4)

	sync = ""
	get("no synchronization in progress", 5)
	get("still live", 6)

	// A missing object is not remembered: once the user creates it, it is seen.
	sync = "2026-12-01T00:02:00Z"
	missing := client.ObjectKey{Namespace: "ns", Name: "later"}
	if err := r.Get(ctx, missing, &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
		t.Fatalf("missing PVC: %v", err)
	}
	if err := r.Get(ctx, missing, &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
		t.Fatalf("missing PVC again: %v", err)
	}
	if n := api.gets.Load(); n != 8 {
		t.Fatalf("%d live GETs, want every read of a missing object to be live (8)", n)
	}
	// A metadata-only read and a typed read of the same key are different entries.
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"))
	if err := r.Get(ctx, key, meta); err != nil {
		t.Fatal(err)
	}
	typed := get("typed after metadata", 10)
	if typed.Name != "data" {
		t.Fatalf("typed read = %+v", typed)
	}
}

func TestStripJobKeepsWhatTheControllersRead(t *testing.T) {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns", Annotations: map[string]string{"volsync.backube/spec-hash": "x"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}},
		Spec: batchv1.JobSpec{Parallelism: ptrTo(int32(1)), BackoffLimit: ptrTo(int32(2)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "mover", Image: "i"}}}}},
		Status: batchv1.JobStatus{Active: 1, Failed: 2},
	}
	out, err := StripJob(job.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	s := out.(*batchv1.Job)
	if len(s.Spec.Template.Spec.Containers) != 0 || s.ManagedFields != nil {
		t.Errorf("template or managedFields kept: %+v", s)
	}
	if s.Annotations["volsync.backube/spec-hash"] != "x" || *s.Spec.Parallelism != 1 || *s.Spec.BackoffLimit != 2 ||
		s.Status.Active != 1 || s.Status.Failed != 2 {
		t.Errorf("stripped what the controllers read: %+v", s)
	}
	if got, _ := StripJob("tombstone"); got != "tombstone" {
		t.Errorf("non-Job changed: %v", got)
	}
}

func ptrTo[T any](v T) *T { return &v }
