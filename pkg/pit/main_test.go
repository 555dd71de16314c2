package pit

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// testTimeout bounds every test's API calls.
const testTimeout = 60 * time.Second

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// recorded is one event a Handler emitted.
type recorded struct {
	Type, Reason, Action, Note, Related string
}

// fakeRecorder records the events it is given.
type fakeRecorder struct {
	mu     sync.Mutex
	events []recorded
}

func (f *fakeRecorder) Eventf(_, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel := ""
	if o, ok := related.(client.Object); ok && o != nil {
		rel = o.GetName()
	}
	f.events = append(f.events, recorded{eventtype, reason, action, fmt.Sprintf(note, args...), rel})
}

// count returns how many events with reason were recorded.
func (f *fakeRecorder) count(reason string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.events {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// last returns the last event with reason.
func (f *fakeRecorder) last(t *testing.T, reason string) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.events) - 1; i >= 0; i-- {
		if f.events[i].Reason == reason {
			return f.events[i]
		}
	}
	t.Fatalf("no %s event among %v", reason, f.events)
	return recorded{}
}

// fixture is one test's namespace, owner and Handler.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	ns    string
	clock *clocktesting.FakeClock
	rec   *fakeRecorder
	h     Handler
}

func ptr[T any](v T) *T { return &v }

// newFixture makes a namespace and a ReplicationSource (or ReplicationDestination with
// destination) that owns what the Handler creates.
func newFixture(t *testing.T, destination bool) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "pit-"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	f := &fixture{t: t, ctx: ctx, ns: ns.Name, clock: clocktesting.NewFakeClock(time.Now()), rec: &fakeRecorder{}}
	f.h = Handler{Client: env.Client, Owner: f.newOwner("owner", destination), Clock: f.clock}
	f.h.Events = events.For(f.rec, f.h.Owner)
	return f
}

// newOwner creates a ReplicationSource or ReplicationDestination.
func (f *fixture) newOwner(name string, destination bool) client.Object {
	f.t.Helper()
	var owner client.Object
	if destination {
		owner = &v1alpha1.ReplicationDestination{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
			Spec: v1alpha1.ReplicationDestinationSpec{RsyncTLS: &v1alpha1.ReplicationDestinationRsyncTLSSpec{
				ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{
					Capacity: ptr(resource.MustParse("1Gi")), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				},
			}},
		}
	} else {
		owner = &v1alpha1.ReplicationSource{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
			Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: "data", RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{}},
		}
	}
	f.create(owner)
	return owner
}

func (f *fixture) create(obj client.Object) {
	f.t.Helper()
	if obj.GetNamespace() == "" && !clusterScoped(obj) {
		obj.SetNamespace(f.ns)
	}
	if err := env.Client.Create(f.ctx, obj); err != nil {
		f.t.Fatalf("creating %s: %v", obj.GetName(), err)
	}
}

func clusterScoped(obj client.Object) bool {
	switch obj.(type) {
	case *storagev1.StorageClass, *snapv1.VolumeSnapshotClass:
		return true
	}
	return false
}

// pvc creates a PVC.
func (f *fixture) pvc(name, request string, mutate ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	p := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(request)}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	f.create(p)
	return p
}

// bind plays the PV controller: the PVC becomes Bound with the given capacity.
func (f *fixture) bind(name, capacity string) {
	f.t.Helper()
	p := f.getPVC(name)
	p.Status.Phase = corev1.ClaimBound
	p.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(capacity)}
	p.Status.AccessModes = p.Spec.AccessModes
	if err := env.Client.Status().Update(f.ctx, p); err != nil {
		f.t.Fatalf("binding %s: %v", name, err)
	}
}

// snapStatus plays the snapshot controller.
func (f *fixture) snapStatus(name string, bound bool, ready *bool, restoreSize string) {
	f.t.Helper()
	s := f.getSnap(name)
	s.Status = &snapv1.VolumeSnapshotStatus{ReadyToUse: ready}
	if bound {
		s.Status.BoundVolumeSnapshotContentName = ptr("snapcontent-" + name)
	}
	if restoreSize != "" {
		s.Status.RestoreSize = ptr(resource.MustParse(restoreSize))
	}
	if err := env.Client.Status().Update(f.ctx, s); err != nil {
		f.t.Fatalf("setting the status of VolumeSnapshot %s: %v", name, err)
	}
}

func (f *fixture) getPVC(name string) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	p := &corev1.PersistentVolumeClaim{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, p); err != nil {
		f.t.Fatalf("reading PVC %s: %v", name, err)
	}
	return p
}

func (f *fixture) getSnap(name string) *snapv1.VolumeSnapshot {
	f.t.Helper()
	s := &snapv1.VolumeSnapshot{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, s); err != nil {
		f.t.Fatalf("reading VolumeSnapshot %s: %v", name, err)
	}
	return s
}

func (f *fixture) exists(obj client.Object, name string) bool {
	f.t.Helper()
	err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, obj)
	if err != nil && !apierrors.IsNotFound(err) {
		f.t.Fatalf("reading %s: %v", name, err)
	}
	return err == nil
}

// names lists the PVCs and VolumeSnapshots of the namespace.
func (f *fixture) names() []string {
	f.t.Helper()
	var out []string
	pvcs := &corev1.PersistentVolumeClaimList{}
	snaps := &snapv1.VolumeSnapshotList{}
	if err := env.Client.List(f.ctx, pvcs, client.InNamespace(f.ns)); err != nil {
		f.t.Fatal(err)
	}
	if err := env.Client.List(f.ctx, snaps, client.InNamespace(f.ns)); err != nil {
		f.t.Fatal(err)
	}
	for _, p := range pvcs.Items {
		out = append(out, "pvc/"+p.Name)
	}
	for _, s := range snaps.Items {
		out = append(out, "snap/"+s.Name)
	}
	return out
}

// storageClass creates a uniquely named StorageClass and returns its name.
func (f *fixture) storageClass(expandable bool) string {
	f.t.Helper()
	sc := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{GenerateName: "sc-"},
		Provisioner:          "hostpath.csi.k8s.io",
		AllowVolumeExpansion: &expandable,
	}
	f.create(sc)
	return sc.Name
}

// snapshotClass creates a uniquely named VolumeSnapshotClass and returns its name.
func (f *fixture) snapshotClass() string {
	f.t.Helper()
	vsc := &snapv1.VolumeSnapshotClass{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "vsc-"},
		Driver:         "hostpath.csi.k8s.io",
		DeletionPolicy: snapv1.VolumeSnapshotContentDelete,
	}
	f.create(vsc)
	return vsc.Name
}

// checkOwned checks the labels and owner of an object the Handler made.
func (f *fixture) checkOwned(obj client.Object, temporary bool) {
	f.t.Helper()
	if got := obj.GetLabels()[v1alpha1.CreatedByLabel]; got != v1alpha1.CreatedByValue {
		f.t.Errorf("%s: created-by label = %q", obj.GetName(), got)
	}
	got, has := obj.GetLabels()[v1alpha1.CleanupLabel]
	if temporary && got != string(f.h.Owner.GetUID()) {
		f.t.Errorf("%s: cleanup label = %q, want the owner's UID", obj.GetName(), got)
	}
	if !temporary && has {
		f.t.Errorf("%s: has cleanup label %q, want none", obj.GetName(), got)
	}
	if !metav1.IsControlledBy(obj, f.h.Owner) {
		f.t.Errorf("%s: not controlled by the owner: %v", obj.GetName(), obj.GetOwnerReferences())
	}
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}
