package lifecycle

import (
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

// DestinationCheck is a mover's own check of a destination's Job in a scenario: its
// arguments, keys, Service and what the destination publishes in status while it waits for
// its source. rd is as last read.
type DestinationCheck func(t *testing.T, rd *v1alpha1.ReplicationDestination, job *batchv1.Job)

// CheckService checks the destination Service of rd: controlled by rd, named like its Job,
// and selecting the mover pod of job (it returns the Service).
func (h *Harness) CheckService(t *testing.T, rd *v1alpha1.ReplicationDestination, job *batchv1.Job) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{}
	Must(t, h.Get(Context(t), rd.Namespace, h.JobName(naming.Destination, rd.Name), svc))
	if !metav1.IsControlledBy(svc, rd) || svc.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
		t.Fatalf("Service not VolSync's for %s: %+v", rd.Name, svc.ObjectMeta)
	}
	if svc.Spec.Selector["app.kubernetes.io/name"] != naming.AppName(naming.Destination, rd.Name) {
		t.Fatalf("Service selector %v", svc.Spec.Selector)
	}
	for k, v := range svc.Spec.Selector {
		if job.Spec.Template.Labels[k] != v {
			t.Fatalf("the Service (selector %v) must select the mover pod (labels %v)", svc.Spec.Selector, job.Spec.Template.Labels)
		}
	}
	return svc
}

// DestinationLifecycle follows a Snapshot destination through three manual syncs: volume, Job
// (checked by started), image, status, events, metrics, image rotation and cleanup.
func (h *Harness) DestinationLifecycle(t *testing.T, started DestinationCheck) {
	ctx := Context(t)
	ns := h.Namespace(t, nil)
	rd := h.NewDestination(ns, "dest", "first")
	h.Create(t, rd)

	// The provisioned volume and the Job appear.
	pvc := h.DestinationPVC(t, ns, "dest")
	if !metav1.IsControlledBy(pvc, rd) || !pvc.Spec.Resources.Requests.Storage().Equal(resource.MustParse(DestinationCapacity)) {
		t.Fatalf("destination PVC: %+v %+v", pvc.ObjectMeta, pvc.Spec.Resources)
	}
	job := h.WaitJob(t, ns, h.JobName(naming.Destination, "dest"))
	if claim := DataClaim(job); claim != pvc.Name {
		t.Fatalf("the Job writes %q, want %s", claim, pvc.Name)
	}
	if job.Spec.Template.Labels["app.kubernetes.io/name"] != naming.AppName(naming.Destination, "dest") {
		t.Fatalf("mover pod labels: %v", job.Spec.Template.Labels)
	}
	CheckUnprivileged(t, job)
	h.Syncing(t, rd)
	if rd.Status.LastSyncStartTime == nil {
		t.Fatalf("synchronizing without lastSyncStartTime: %+v", rd.Status)
	}
	if started != nil {
		started(t, rd, job)
	}
	h.WaitEvent(t, ns, "dest", "TransferStarted", "to receive data")

	// The transfer completes: a snapshot named after the PVC and the clock is taken.
	h.Succeed(t, ns, job.Name)
	snapName := h.DestinationSnapshot(pvc.Name)
	h.ReadySnapshot(t, ns, snapName)
	h.WaitSynced(t, rd, "first")
	h.WaitCondition(t, rd, v1alpha1.SynchronizingReasonManual, "")
	if st := rd.Status; st.LastSyncStartTime != nil || st.LastSyncDuration == nil || st.NextSyncTime != nil {
		t.Fatalf("timing fields: %+v", st)
	}
	if ms := rd.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultSuccessful || !strings.Contains(ms.Logs, "7 files transferred") {
		t.Fatalf("latestMoverStatus: %+v", ms)
	}
	if img := rd.Status.LatestImage; img == nil || img.Name != snapName || ptr.Deref(img.APIGroup, "") != snapv1.GroupName || img.Kind != "VolumeSnapshot" {
		t.Fatalf("latestImage: %+v, want VolumeSnapshot %s", img, snapName)
	}
	h.WaitGone(t, ns, job.Name, &batchv1.Job{})
	if v := h.Metric(t, "volsync_volume_out_of_sync", h.Series("dest", ns, "destination")); v != 0 {
		t.Errorf("out_of_sync = %v, want 0", v)
	}
	if v := h.Metric(t, "volsync_sync_duration_seconds", h.Series("dest", ns, "destination")); v != 1 {
		t.Errorf("duration observations = %v, want 1", v)
	}

	// Keep the first image, then sync again: the second image replaces it in latestImage, the
	// first survives because of do-not-delete; a third sync deletes the unprotected second.
	first := &snapv1.VolumeSnapshot{}
	Must(t, h.Get(ctx, ns, snapName, first))
	patch := client.MergeFrom(first.DeepCopy())
	first.Labels[v1alpha1.DoNotDeleteLabel] = "true"
	Must(t, h.Client.Patch(ctx, first, patch))

	var second string
	for i, manual := range []string{"second", "third"} {
		h.Clock.Step(time.Minute)
		Must(t, h.Get(ctx, ns, "dest", rd))
		rd.Spec.Trigger.Manual = manual
		Must(t, h.Client.Update(ctx, rd))
		job = h.WaitNewJob(t, ns, h.JobName(naming.Destination, "dest"))
		h.Succeed(t, ns, job.Name)
		name := h.DestinationSnapshot(pvc.Name)
		h.ReadySnapshot(t, ns, name)
		h.WaitSynced(t, rd, manual)
		if img := rd.Status.LatestImage; img == nil || img.Name != name {
			t.Fatalf("latestImage %+v, want %s", img, name)
		}
		if i == 0 {
			second = name
		}
	}
	Must(t, h.Get(ctx, ns, snapName, first))
	if metav1.IsControlledBy(first, rd) {
		t.Error("a do-not-delete snapshot must be released by the destination")
	}
	h.WaitGone(t, ns, second, &snapv1.VolumeSnapshot{})
	if v := h.Metric(t, "volsync_sync_duration_seconds", h.Series("dest", ns, "destination")); v != 3 {
		t.Errorf("duration observations = %v, want 3", v)
	}

	// Deleting the destination removes its series.
	Must(t, h.Client.Delete(ctx, rd))
	Eventually(t, "series removed", func() error {
		if v := h.Metric(t, "volsync_volume_out_of_sync", h.Series("dest", ns, "destination")); v != -1 {
			return fmt.Errorf("series still there: %v", v)
		}
		return nil
	})
}

// DestinationDirect runs a Direct destination through one sync (its Job checked by started):
// latestImage is the PVC itself, the Job is removed, and afterwards pokes of the idle
// destination write nothing.
func (h *Harness) DestinationDirect(t *testing.T, started DestinationCheck) {
	ctx := Context(t)
	ns := h.Namespace(t, nil)
	vol := DestinationVolumes()
	vol.CopyMethod = v1alpha1.CopyMethodDirect
	rd := h.DestinationWith(ns, "quiet", "once", vol)
	h.Create(t, rd)
	pvc := h.DestinationPVC(t, ns, "quiet")
	job := h.WaitJob(t, ns, h.JobName(naming.Destination, "quiet"))
	if claim := DataClaim(job); claim != pvc.Name {
		t.Fatalf("the Job writes %q, want %s", claim, pvc.Name)
	}
	if started != nil {
		Must(t, h.Get(ctx, ns, "quiet", rd))
		started(t, rd, job)
	}
	h.Succeed(t, ns, job.Name)
	h.WaitSynced(t, rd, "once")
	h.WaitCondition(t, rd, v1alpha1.SynchronizingReasonManual, "")
	if img := rd.Status.LatestImage; img == nil || img.Kind != "PersistentVolumeClaim" || img.Name != pvc.Name {
		t.Fatalf("latestImage %+v, want the PVC %s", img, pvc.Name)
	}
	h.WaitGone(t, ns, job.Name, &batchv1.Job{})
	h.quietAtRest(t, rd)
}

// quietAtRest checks that pokes of an idle object make the controller write nothing.
func (h *Harness) quietAtRest(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := Context(t)
	rv := obj.GetResourceVersion()
	for range 3 {
		h.Poke(t, obj)
	}
	// Each poke is a metadata write; the controller must add nothing after the last one.
	Must(t, h.Get(ctx, obj.GetNamespace(), obj.GetName(), obj))
	pokedRV := obj.GetResourceVersion()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		Must(t, h.Get(ctx, obj.GetNamespace(), obj.GetName(), obj))
		if obj.GetResourceVersion() != pokedRV {
			t.Fatalf("an idle reconcile wrote the object (resourceVersion %s -> %s, before pokes %s): %+v",
				pokedRV, obj.GetResourceVersion(), rv, Common(obj))
		}
		time.Sleep(PollEvery)
	}
}
