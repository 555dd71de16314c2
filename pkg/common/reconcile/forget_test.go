package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/metrics"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// testTimeout bounds each test; pollInterval is how often a test looks again.
const (
	testTimeout  = 60 * time.Second
	pollInterval = 50 * time.Millisecond
)

// pendingMover keeps its synchronization in progress, so the object stays synchronizing with
// a status write behind it and a metric series.
type pendingMover struct{}

func (pendingMover) Synchronize(context.Context) (mover.Result, error) {
	return mover.Pending(time.Hour), nil
}
func (pendingMover) Cleanup(context.Context) (mover.Result, error) { return mover.Done(), nil }

// rsyncTLSBuilder is a tiny mover that handles the objects holding an rsyncTLS block.
type rsyncTLSBuilder struct{}

func (rsyncTLSBuilder) Name() string { return "test-rsync-tls" }
func (rsyncTLSBuilder) HandlesSource(rs *v1alpha1.ReplicationSource) bool {
	return rs.Spec.RsyncTLS != nil
}
func (rsyncTLSBuilder) HandlesDestination(rd *v1alpha1.ReplicationDestination) bool {
	return rd.Spec.RsyncTLS != nil
}
func (rsyncTLSBuilder) FromSource(mover.Env, *v1alpha1.ReplicationSource) (mover.Mover, error) {
	return pendingMover{}, nil
}
func (rsyncTLSBuilder) FromDestination(mover.Env, *v1alpha1.ReplicationDestination) (mover.Mover, error) {
	return pendingMover{}, nil
}

// startSourceReconciler runs the ReplicationSource reconciler of rsyncTLSBuilder until the test
// ends, with its own metrics registry.
func startSourceReconciler(t *testing.T) (*reconciler[*v1alpha1.ReplicationSource], *prometheus.Registry) {
	t.Helper()
	return startSourceReconcilerWith(t, rsyncTLSBuilder{})
}

// startSourceReconcilerWith runs the ReplicationSource reconciler of b until the test ends.
func startSourceReconcilerWith(t *testing.T, b mover.Builder) (*reconciler[*v1alpha1.ReplicationSource], *prometheus.Registry) {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:     env.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptrTo(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts := Options{Builder: b, Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Metrics: metrics.New(reg)}
	opts.defaults()
	r := &reconciler[*v1alpha1.ReplicationSource]{opts: opts, k: sourceKind(opts.Builder), reads: clients.NewUserReads()}
	if err := r.setup(mgr, "test-replicationsource", ownsOrDefault(nil)...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return r, reg
}

func ptrTo[T any](v T) *T { return &v }

// seriesOf counts the metric series labelled with the object's name.
func seriesOf(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == metrics.LabelName && l.GetValue() == name {
					n++
				}
			}
		}
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-time.After(pollInterval):
		}
	}
}

// TestForgetsObjectsNoLongerHandled: when an object's method block moves to another mover,
// this controller must drop its metric series and its record of stale writes, as it does for
// a deleted object; the update that removes the block must reach the reconciler for that.
func TestForgetsObjectsNoLongerHandled(t *testing.T) {
	r, reg := startSourceReconciler(t)
	ctx := testenv.Context(t, testTimeout)
	ns := env.Namespace(ctx, t, "forget")
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "moving"},
		Spec: v1alpha1.ReplicationSourceSpec{
			SourcePVC: "data", Trigger: &v1alpha1.TriggerSpec{Manual: "once"},
			RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{},
		},
	}
	if err := env.Client.Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	key := types.NamespacedName{Namespace: ns, Name: rs.Name}
	remembered := func() bool { _, ok := r.writes.m.Load(key); return ok }
	eventually(ctx, t, "the reconciler stored a status and set the object's metrics", func() bool {
		return seriesOf(t, reg, rs.Name) > 0 && remembered()
	})

	// The user moves the object to another mover.
	patch := client.MergeFrom(rs.DeepCopy())
	rs.Spec.RsyncTLS = nil
	rs.Spec.Rclone = &v1alpha1.ReplicationSourceRcloneSpec{
		RcloneSpec: v1alpha1.RcloneSpec{RcloneConfig: ptrTo("conf"), RcloneConfigSection: ptrTo("s3"), RcloneDestPath: ptrTo("bucket")},
	}
	if err := env.Client.Patch(ctx, rs, patch); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "the controller forgot the object it no longer handles", func() bool {
		return seriesOf(t, reg, rs.Name) == 0 && !remembered()
	})
}

// readingBuilder's source mover reads its source PVC through Env.Users and completes at once.
type readingBuilder struct{ rsyncTLSBuilder }

func (readingBuilder) FromSource(env mover.Env, rs *v1alpha1.ReplicationSource) (mover.Mover, error) {
	return readingMover{env: env, key: types.NamespacedName{Namespace: rs.Namespace, Name: rs.Spec.SourcePVC}}, nil
}

type readingMover struct {
	env mover.Env
	key types.NamespacedName
}

func (m readingMover) Synchronize(ctx context.Context) (mover.Result, error) {
	if err := m.env.Users.Get(ctx, m.key, &corev1.PersistentVolumeClaim{}); err != nil {
		return mover.Result{}, err
	}
	return mover.Done(), nil
}
func (readingMover) Cleanup(context.Context) (mover.Result, error) { return mover.Done(), nil }

// TestUserReadsDroppedAfterTheSynchronization: what a synchronization read of the user's
// objects is kept only while it runs.
func TestUserReadsDroppedAfterTheSynchronization(t *testing.T) {
	r, _ := startSourceReconcilerWith(t, readingBuilder{})
	ctx := testenv.Context(t, testTimeout)
	ns := env.Namespace(ctx, t, "reads")
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if err := env.Client.Create(ctx, pvc); err != nil {
		t.Fatal(err)
	}
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "src"},
		Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: "data", Trigger: &v1alpha1.TriggerSpec{Manual: "once"},
			RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{}},
	}
	if err := env.Client.Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "the synchronization completed", func() bool {
		got := &v1alpha1.ReplicationSource{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(rs), got); err != nil || got.Status == nil {
			return false
		}
		return got.Status.LastManualSync == "once" && got.Status.LastSyncStartTime == nil
	})
	key := client.ObjectKeyFromObject(rs)
	eventually(ctx, t, "the reads of the finished synchronization dropped", func() bool { return r.reads.Objects(key) == 0 })
}
