package replication

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/kube"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/names"
	"github.com/volsync-go/volsync/pkg/testutil/syncbuffer"
)

const (
	testPoll    = 20 * time.Millisecond
	testTimeout = 30 * time.Second
)

// fixture is a relationship between a PVC in one namespace and a destination in another,
// set up through the package's functions.
type fixture struct {
	t        *testing.T
	e        Env
	out      *syncbuffer.Buffer
	src, dst string
}

func newFixture(t *testing.T, dstMethod v1alpha1.CopyMethodType) *fixture {
	t.Helper()
	f := &fixture{t: t, out: &syncbuffer.Buffer{}, src: "src-" + rand.String(5), dst: "dst-" + rand.String(5)}
	f.e = Env{ConfigDir: t.TempDir(), Out: f.out, Poll: testPoll, KeysTimeout: testTimeout,
		Clients: func(string) (client.Client, error) { return env.Client, nil }}
	ctx := context.Background()
	for _, ns := range []string{f.src, f.dst} {
		must(t, env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	must(t, env.Client.Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: f.src},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi")}}},
	}))
	must(t, Create(f.e, "r"))
	must(t, SetSource(ctx, f.e, "r", SourceOptions{PVC: names.XName{Namespace: f.src, Name: "data"}, CopyMethod: v1alpha1.CopyMethodSnapshot}))
	must(t, SetDestination(ctx, f.e, "r", DestinationOptions{Destination: names.XName{Namespace: f.dst, Name: "data"},
		CopyMethod: dstMethod, ServiceType: corev1.ServiceTypeClusterIP}))
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// publish plays the destination controller: once the ReplicationDestination exists, it
// creates the key Secret and publishes the address and keys.
func (f *fixture) publish(ctx context.Context) {
	c := env.Client
	rd := &v1alpha1.ReplicationDestination{}
	key := client.ObjectKey{Namespace: f.dst, Name: "data"}
	if !poll(ctx, func() bool { return c.Get(ctx, key, rd) == nil }) {
		return
	}
	_ = c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "volsync-rsync-dst-src-data", Namespace: f.dst},
		Data: map[string][]byte{"source": []byte("k"), "source.pub": []byte("p"), "destination.pub": []byte("d")}})
	rd.Status = &v1alpha1.ReplicationDestinationStatus{Rsync: &v1alpha1.ReplicationDestinationRsyncStatus{
		Address: ptr.To("10.0.0.1"), Port: ptr.To[int32](22), SSHKeys: ptr.To("volsync-rsync-dst-src-data")}}
	_ = c.Status().Update(ctx, rd)
}

// sourceController plays the source controller once the source has a manual trigger: it
// calls report with the source and writes the status report leaves.
func (f *fixture) sourceController(ctx context.Context, report func(rs *v1alpha1.ReplicationSource)) {
	c := env.Client
	poll(ctx, func() bool {
		list := &v1alpha1.ReplicationSourceList{}
		if c.List(ctx, list, client.InNamespace(f.src)) != nil || len(list.Items) != 1 {
			return false
		}
		rs := &list.Items[0]
		if rs.Spec.Trigger == nil || rs.Spec.Trigger.Manual == "" {
			return false
		}
		report(rs)
		return c.Status().Update(ctx, rs) == nil
	})
}

func poll(ctx context.Context, f func() bool) bool {
	for {
		if f() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(testPoll):
		}
	}
}

// TestSyncFailure: a synchronization whose source reports Error makes sync fail with the
// condition's message.
func TestSyncFailure(t *testing.T) {
	f := newFixture(t, v1alpha1.CopyMethodSnapshot)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	go f.publish(ctx)
	go f.sourceController(ctx, func(rs *v1alpha1.ReplicationSource) {
		rs.Status = &v1alpha1.ReplicationSourceStatus{}
		meta.SetStatusCondition(&rs.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionSynchronizing, Status: metav1.ConditionTrue,
			Reason: v1alpha1.SynchronizingReasonError, Message: "mover Job failed: host key mismatch", ObservedGeneration: rs.Generation})
	})
	err := Sync(ctx, f.e, "r", testTimeout)
	if !errors.Is(err, ErrSyncFailed) || !strings.Contains(err.Error(), "host key mismatch") {
		t.Fatalf("Sync = %v; want ErrSyncFailed with the condition's message", err)
	}
	// The destination got the source's capacity and access modes (Snapshot).
	rd := &v1alpha1.ReplicationDestination{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.dst, Name: "data"}, rd))
	if c := rd.Spec.Rsync.Capacity; c == nil || c.String() != "3Gi" || len(rd.Spec.Rsync.AccessModes) != 1 || rd.Spec.Rsync.DestinationPVC != nil {
		t.Errorf("destination spec %+v", rd.Spec.Rsync)
	}
}

// TestSyncSuccess: sync waits for the source to record the manual value and the destination
// to record the synchronization, and prints progress.
func TestSyncSuccess(t *testing.T) {
	f := newFixture(t, v1alpha1.CopyMethodDirect)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	go f.publish(ctx)
	go f.sourceController(ctx, func(rs *v1alpha1.ReplicationSource) {
		now := metav1.Now()
		rs.Status = &v1alpha1.ReplicationSourceStatus{CommonStatus: v1alpha1.CommonStatus{
			LastManualSync: rs.Spec.Trigger.Manual, LastSyncTime: &now, LastSyncDuration: &metav1.Duration{Duration: time.Second}}}
		meta.SetStatusCondition(&rs.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionSynchronizing, Status: metav1.ConditionFalse,
			Reason: v1alpha1.SynchronizingReasonManual, Message: "Waiting for manual trigger", ObservedGeneration: rs.Generation})
		// The destination records the end of the synchronization.
		rd := &v1alpha1.ReplicationDestination{}
		if env.Client.Get(ctx, client.ObjectKey{Namespace: f.dst, Name: "data"}, rd) == nil {
			rd.Status.LastSyncTime = &now
			_ = env.Client.Status().Update(ctx, rd)
		}
	})
	if err := Sync(ctx, f.e, "r", testTimeout); err != nil {
		t.Fatalf("Sync: %v\n%s", err, f.out)
	}
	out := f.out.String()
	for _, want := range []string{"waiting for the address and keys", "synchronization completed", "created ReplicationSource"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Direct: a PVC like the source's, named like the destination, which it writes into.
	pvc := &corev1.PersistentVolumeClaim{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.dst, Name: "data"}, pvc))
	rd := &v1alpha1.ReplicationDestination{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.dst, Name: "data"}, rd))
	if ptr.Deref(rd.Spec.Rsync.DestinationPVC, "") != "data" || pvc.Spec.Resources.Requests.Storage().String() != "3Gi" {
		t.Errorf("destination PVC %v, spec %+v", pvc.Spec.Resources, rd.Spec.Rsync)
	}
	// The source's key Secret copies the destination's and is labelled; the source points at
	// the published address.
	rs := &v1alpha1.ReplicationSourceList{}
	must(t, env.Client.List(ctx, rs, client.InNamespace(f.src)))
	secret := &corev1.Secret{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.src, Name: rs.Items[0].Name}, secret))
	if string(secret.Data["destination.pub"]) != "d" || secret.Labels[kube.RelationshipLabel] == "" ||
		ptr.Deref(rs.Items[0].Spec.Rsync.Address, "") != "10.0.0.1" || ptr.Deref(rs.Items[0].Spec.Rsync.SSHKeys, "") != secret.Name {
		t.Errorf("source Secret %v, source spec %+v", secret.Labels, rs.Items[0].Spec.Rsync)
	}

	// delete removes the objects of both sides and the file; the destination PVC stays.
	if err := Delete(ctx, f.e, "r"); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []client.Object{&rs.Items[0], secret, rd} {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s left after delete (err %v)", obj, obj.GetName(), err)
		}
	}
	must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pvc), pvc))
	if _, err := os.Stat(filepath.Join(f.e.ConfigDir, "r.yaml")); !os.IsNotExist(err) {
		t.Errorf("relationship file left: %v", err)
	}
}

// TestApplyFailureUndoes: when the destination never publishes its address, schedule fails
// with the wait's reason, removes the destination and the PVC it created, and leaves the
// relationship file as it was.
func TestApplyFailureUndoes(t *testing.T) {
	f := newFixture(t, v1alpha1.CopyMethodDirect)
	f.e.KeysTimeout = 300 * time.Millisecond
	path := filepath.Join(f.e.ConfigDir, "r.yaml")
	before, err := os.ReadFile(path)
	must(t, err)
	ctx := context.Background()
	err = Schedule(ctx, f.e, "r", "*/5 * * * *")
	if !errors.Is(err, kube.ErrTimeout) || !strings.Contains(err.Error(), "address and keys") {
		t.Fatalf("Schedule = %v; want a timeout waiting for the address and keys", err)
	}
	for _, obj := range []client.Object{
		&v1alpha1.ReplicationDestination{ObjectMeta: metav1.ObjectMeta{Namespace: f.dst, Name: "data"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: f.dst, Name: "data"}},
	} {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		// envtest has no garbage collector or PVC protection controller: a deleted PVC may
		// linger with a deletion timestamp.
		if !apierrors.IsNotFound(err) && obj.GetDeletionTimestamp() == nil {
			t.Errorf("%T left after a failed schedule (err %v)", obj, err)
		}
	}
	after, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Errorf("the relationship file changed:\n%s\nwas\n%s", after, before)
	}
	if !strings.Contains(f.out.String(), "removing ReplicationDestination") {
		t.Errorf("the undo was not reported:\n%s", f.out)
	}
}

// TestNotOurs: an existing destination that is not the relationship's is not taken over.
func TestNotOurs(t *testing.T) {
	f := newFixture(t, v1alpha1.CopyMethodSnapshot)
	ctx := context.Background()
	other := &v1alpha1.ReplicationDestination{ObjectMeta: metav1.ObjectMeta{Namespace: f.dst, Name: "data"},
		Spec: v1alpha1.ReplicationDestinationSpec{Rsync: &v1alpha1.ReplicationDestinationRsyncSpec{
			ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{DestinationPVC: ptr.To("x")}}}}
	must(t, env.Client.Create(ctx, other))
	err := Schedule(ctx, f.e, "r", "@hourly")
	if !errors.Is(err, ErrNotOurs) {
		t.Fatalf("Schedule = %v; want ErrNotOurs", err)
	}
	must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(other), other))
	if ptr.Deref(other.Spec.Rsync.DestinationPVC, "") != "x" {
		t.Errorf("the other destination was changed: %+v", other.Spec.Rsync)
	}
}
