package populator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// driver is the CSI driver of the test's snapshots and StorageClasses.
const driver = "hostpath.csi.test"

// deadline bounds every wait for the populator.
const deadline = 30 * time.Second

type fixture struct {
	t   *testing.T
	ctx context.Context
	ns  string
}

func newFixture(t *testing.T) *fixture {
	t.Parallel()
	ctx := testenv.Context(t, 2*time.Minute)
	prefix := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	return &fixture{t: t, ctx: ctx, ns: env.Namespace(ctx, t, prefix[:min(len(prefix), 40)])}
}

func (f *fixture) create(obj client.Object) {
	f.t.Helper()
	if err := env.Client.Create(f.ctx, obj); err != nil {
		f.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// class creates a StorageClass named after the namespace (StorageClasses are cluster-wide).
func (f *fixture) class(suffix, provisioner string, mode storagev1.VolumeBindingMode) string {
	f.t.Helper()
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: f.ns + suffix}, Provisioner: provisioner, VolumeBindingMode: &mode}
	f.create(sc)
	f.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), sc) })
	return sc.Name
}

// snapshot creates a ready VolumeSnapshot of the driver, with its content, as the snapshot
// controller would; owner (may be nil) controls it as a ReplicationDestination does.
func (f *fixture) snapshot(name, size, drv string, owner client.Object, labels map[string]string) *snapv1.VolumeSnapshot {
	f.t.Helper()
	content := &snapv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: f.ns + "-" + name},
		Spec: snapv1.VolumeSnapshotContentSpec{
			Driver:            drv,
			DeletionPolicy:    snapv1.VolumeSnapshotContentDelete,
			Source:            snapv1.VolumeSnapshotContentSource{SnapshotHandle: new("handle-" + name)},
			VolumeSnapshotRef: corev1.ObjectReference{Namespace: f.ns, Name: name},
		},
	}
	f.create(content)
	f.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), content) })
	snap := &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Labels: labels},
		Spec:       snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: new("data")}},
	}
	if owner != nil {
		snap.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "ReplicationDestination",
			Name: owner.GetName(), UID: owner.GetUID(), Controller: new(true)}}
	}
	f.create(snap)
	q := resource.MustParse(size)
	snap.Status = &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: &content.Name, ReadyToUse: new(true), RestoreSize: &q}
	if err := env.Client.Status().Update(f.ctx, snap); err != nil {
		f.t.Fatalf("setting the status of VolumeSnapshot %s: %v", name, err)
	}
	return snap
}

// rd creates a ReplicationDestination; image (may be nil) becomes its latest image.
func (f *fixture) rd(name string, image *corev1.TypedLocalObjectReference) *v1alpha1.ReplicationDestination {
	f.t.Helper()
	rd := &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec:       v1alpha1.ReplicationDestinationSpec{External: &v1alpha1.ReplicationDestinationExternalSpec{Provider: "example.com/test"}},
	}
	f.create(rd)
	if image != nil {
		f.setImage(rd, image)
	}
	return rd
}

func (f *fixture) setImage(rd *v1alpha1.ReplicationDestination, image *corev1.TypedLocalObjectReference) {
	f.t.Helper()
	if rd.Status == nil {
		rd.Status = &v1alpha1.ReplicationDestinationStatus{}
	}
	rd.Status.LatestImage = image
	if err := env.Client.Status().Update(f.ctx, rd); err != nil {
		f.t.Fatalf("setting the latest image of %s: %v", rd.Name, err)
	}
}

func snapshotImage(name string) *corev1.TypedLocalObjectReference {
	return &corev1.TypedLocalObjectReference{APIGroup: new(snapshotGroup), Kind: snapshotKind, Name: name}
}

// claim creates a PVC to be populated from the ReplicationDestination rd.
func (f *fixture) claim(name, rd, class, size string, annotations map[string]string) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Annotations: annotations},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			StorageClassName: &class,
			DataSourceRef:    &corev1.TypedObjectReference{APIGroup: new(v1alpha1.GroupVersion.Group), Kind: "ReplicationDestination", Name: rd},
		},
	}
	f.create(pvc)
	return pvc
}

// eventually polls check until it returns nil or the deadline passes.
func (f *fixture) eventually(what string, check func() error) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, deadline)
	defer cancel()
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			f.t.Fatalf("%s: %v", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// prime waits for the prime PVC of pvc.
func (f *fixture) prime(pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	prime := &corev1.PersistentVolumeClaim{}
	f.eventually("the prime PVC appears", func() error {
		return env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: PrimeName(pvc.UID)}, prime)
	})
	return prime
}

// noPrime checks that pvc has no prime PVC.
func (f *fixture) noPrime(pvc *corev1.PersistentVolumeClaim) {
	f.t.Helper()
	err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: PrimeName(pvc.UID)}, &corev1.PersistentVolumeClaim{})
	if !apierrors.IsNotFound(err) {
		f.t.Fatalf("prime PVC of %s: err = %v, want none", pvc.Name, err)
	}
}

// provision plays the CSI provisioner and the PV binder for the prime PVC: a volume reserved
// for it, and the prime PVC bound to it.
func (f *fixture) provision(prime *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	f.t.Helper()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + string(prime.UID)},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: prime.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   prime.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              *prime.Spec.StorageClassName,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: string(prime.UID)}},
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: prime.Namespace, Name: prime.Name, UID: prime.UID},
		},
	}
	f.create(pv)
	f.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), pv) })
	f.bindClaim(prime, pv.Name, corev1.ClaimBound)
	return pv
}

// bindClaim sets a claim's volume and phase, as the PV binder does.
func (f *fixture) bindClaim(pvc *corev1.PersistentVolumeClaim, volume string, phase corev1.PersistentVolumeClaimPhase) {
	f.t.Helper()
	if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil {
		f.t.Fatal(err)
	}
	if pvc.Spec.VolumeName != volume {
		pvc.Spec.VolumeName = volume
		if err := env.Client.Update(f.ctx, pvc); err != nil {
			f.t.Fatalf("binding %s to %s: %v", pvc.Name, volume, err)
		}
	}
	pvc.Status.Phase = phase
	if err := env.Client.Status().Update(f.ctx, pvc); err != nil {
		f.t.Fatalf("setting the phase of %s: %v", pvc.Name, err)
	}
}

// events returns the populator's Events about the PVC name with reason.
func (f *fixture) events(name, reason string) []eventsv1.Event {
	f.t.Helper()
	list := &eventsv1.EventList{}
	if err := env.Client.List(f.ctx, list, client.InNamespace(f.ns)); err != nil {
		f.t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Regarding.Kind == "PersistentVolumeClaim" && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// event waits for one Event about the PVC with reason whose note contains every part.
func (f *fixture) event(name, reason string, parts ...string) eventsv1.Event {
	f.t.Helper()
	var got eventsv1.Event
	f.eventually(fmt.Sprintf("a %s event on %s", reason, name), func() error {
		evs := f.events(name, reason)
		if len(evs) == 0 {
			return fmt.Errorf("none yet")
		}
		got = evs[len(evs)-1]
		for _, p := range parts {
			if !strings.Contains(got.Note, p) {
				return fmt.Errorf("note %q lacks %q", got.Note, p)
			}
		}
		return nil
	})
	return got
}

// once checks that the Event with reason about name was emitted exactly once (not as a
// series of repeats).
func (f *fixture) once(name, reason string) {
	f.t.Helper()
	evs := f.events(name, reason)
	if len(evs) != 1 || evs[0].Series != nil {
		f.t.Fatalf("%s events on %s: %d (series %+v), want exactly one", reason, name, len(evs), seriesOf(evs))
	}
}

func seriesOf(evs []eventsv1.Event) []*eventsv1.EventSeries {
	out := make([]*eventsv1.EventSeries, 0, len(evs))
	for i := range evs {
		out = append(out, evs[i].Series)
	}
	return out
}

// touch changes an annotation of the PVC (a reconcile with nothing new to do).
func (f *fixture) touch(pvc *corev1.PersistentVolumeClaim, value string) {
	f.t.Helper()
	f.eventually("annotating "+pvc.Name, func() error {
		cur := &corev1.PersistentVolumeClaim{}
		if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(pvc), cur); err != nil {
			return err
		}
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations["test/touch"] = value
		return env.Client.Update(f.ctx, cur)
	})
}

// destination creates the ReplicationDestination "dest" whose latest image is a ready snapshot
// "dest-snap" of size, taken by drv.
func (f *fixture) destination(size, drv string) (*v1alpha1.ReplicationDestination, *snapv1.VolumeSnapshot) {
	f.t.Helper()
	rd := f.rd("dest", nil)
	snap := f.snapshot("dest-snap", size, drv, rd, nil)
	f.setImage(rd, snapshotImage(snap.Name))
	return rd, snap
}

// handedOver waits until the populator has handed pv to pvc.
func (f *fixture) handedOver(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) {
	f.t.Helper()
	f.eventually("the volume is handed to the PVC", func() error {
		if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(pv), pv); err != nil {
			return err
		}
		if !claimRefIs(pv, pvc) {
			return fmt.Errorf("claimRef %+v", pv.Spec.ClaimRef)
		}
		return nil
	})
}
