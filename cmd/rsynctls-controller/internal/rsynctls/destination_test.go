package rsynctls

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func newDestination(ns, name string, manual string) *v1alpha1.ReplicationDestination {
	size := resource.MustParse("2Gi")
	return &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationDestinationSpec{
			Trigger: &v1alpha1.TriggerSpec{Manual: manual},
			RsyncTLS: &v1alpha1.ReplicationDestinationRsyncTLSSpec{
				ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{
					CopyMethod: v1alpha1.CopyMethodSnapshot, Capacity: &size,
					AccessModes:             []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName:        ptr.To(storageClass),
					VolumeSnapshotClassName: ptr.To(snapClass),
				},
			},
		},
	}
}

// TestDestinationLifecycle follows a snapshot destination through two manual syncs: volume,
// Service, key, Job, image, status, events, metrics, image rotation and cleanup.
func TestDestinationLifecycle(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	rd := newDestination(ns, "dest", "first")
	must(t, k8s.Create(ctx, rd))

	// The provisioned volume, the Service, the generated key and the server Job appear.
	pvc := &corev1.PersistentVolumeClaim{}
	eventually(t, "destination PVC", func() error { return get(ctx, ns, "volsync-dest-dst", pvc) })
	if !metav1.IsControlledBy(pvc, rd) || pvc.Spec.Resources.Requests.Storage().String() != "2Gi" {
		t.Fatalf("destination PVC: %+v", pvc.ObjectMeta)
	}
	bind(t, pvc)
	job := waitJob(t, ns, "volsync-rsync-tls-dst-dest")
	c := job.Spec.Template.Spec.Containers[0]
	if c.Image != testImage || c.Args[0] != "server" {
		t.Fatalf("server Job container: %+v", c)
	}
	svc := &corev1.Service{}
	must(t, get(ctx, ns, "volsync-rsync-tls-dst-dest", svc))
	if svc.Spec.Ports[0].Port != 8000 || svc.Spec.Selector["app.kubernetes.io/name"] != "dst-dest" {
		t.Fatalf("service: %+v", svc.Spec)
	}
	if job.Spec.Template.Labels["app.kubernetes.io/name"] != "dst-dest" {
		t.Fatal("the Service must select the mover pod")
	}
	eventually(t, "status address and key", func() error {
		must(t, get(ctx, ns, "dest", rd))
		st := rd.Status
		if st == nil || st.RsyncTLS == nil || st.RsyncTLS.Address == nil || st.RsyncTLS.KeySecret == nil {
			return fmt.Errorf("status: %+v", st)
		}
		if *st.RsyncTLS.Address != svc.Spec.ClusterIP || *st.RsyncTLS.KeySecret != "volsync-rsync-tls-dest" {
			return fmt.Errorf("rsyncTLS status: %+v", st.RsyncTLS)
		}
		if c := condition(&st.CommonStatus); c == nil || c.Reason != v1alpha1.SynchronizingReasonSync || st.LastSyncStartTime == nil {
			return fmt.Errorf("want SyncInProgress: %+v", st)
		}
		return nil
	})
	key := &corev1.Secret{}
	must(t, get(ctx, ns, "volsync-rsync-tls-dest", key))
	if checkPSK(key.Data[PSKKey]) != nil || !strings.HasPrefix(string(key.Data[PSKKey]), "volsync:") || len(key.Data[PSKKey]) != len("volsync:")+128 {
		t.Fatalf("generated PSK has the wrong form (length %d)", len(key.Data[PSKKey]))
	}
	waitEvent(t, ns, "dest", "TransferStarted", "to receive data")

	// The transfer completes: a snapshot named after the PVC and the clock is taken.
	succeed(t, ns, job.Name)
	snapName := pvc.Name + "-" + clk.Now().UTC().Format("20060102150405")
	readySnapshot(t, ns, snapName)
	eventually(t, "first sync done", func() error {
		must(t, get(ctx, ns, "dest", rd))
		st := rd.Status
		if st.LastSyncTime == nil || st.LatestImage == nil || st.LatestImage.Name != snapName || st.LastManualSync != "first" {
			return fmt.Errorf("status: %+v", st)
		}
		if c := condition(&st.CommonStatus); c.Reason != v1alpha1.SynchronizingReasonManual {
			return fmt.Errorf("condition: %+v", c)
		}
		if st.LastSyncStartTime != nil || st.LastSyncDuration == nil || st.NextSyncTime != nil {
			return fmt.Errorf("timing fields: %+v", st)
		}
		if st.LatestMoverStatus == nil || st.LatestMoverStatus.Result != v1alpha1.MoverResultSuccessful ||
			!strings.Contains(st.LatestMoverStatus.Logs, "7 files transferred") {
			return fmt.Errorf("latestMoverStatus: %+v", st.LatestMoverStatus)
		}
		return nil
	})
	if *rd.Status.LatestImage.APIGroup != snapv1.GroupName || rd.Status.LatestImage.Kind != "VolumeSnapshot" {
		t.Fatalf("latestImage: %+v", rd.Status.LatestImage)
	}
	eventually(t, "Job removed after the sync", func() error {
		err := get(ctx, ns, job.Name, &batchv1.Job{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return errors.New("job still there")
	})
	if v := metricValue(t, "volsync_volume_out_of_sync", series("dest", ns, "destination")); v != 0 {
		t.Errorf("out_of_sync = %v, want 0", v)
	}
	if v := metricValue(t, "volsync_sync_duration_seconds", series("dest", ns, "destination")); v != 1 {
		t.Errorf("duration observations = %v, want 1", v)
	}

	// Keep the first image, then sync again: the second image replaces it in latestImage, the
	// first survives because of do-not-delete; a third sync deletes the unprotected second.
	first := &snapv1.VolumeSnapshot{}
	must(t, get(ctx, ns, snapName, first))
	patch := client.MergeFrom(first.DeepCopy())
	first.Labels[v1alpha1.DoNotDeleteLabel] = "true"
	must(t, k8s.Patch(ctx, first, patch))

	var second string
	for i, manual := range []string{"second", "third"} {
		clk.Step(time.Minute)
		must(t, get(ctx, ns, "dest", rd))
		rd.Spec.Trigger.Manual = manual
		must(t, k8s.Update(ctx, rd))
		job = waitNewJob(t, ns, "volsync-rsync-tls-dst-dest")
		succeed(t, ns, job.Name)
		name := pvc.Name + "-" + clk.Now().UTC().Format("20060102150405")
		readySnapshot(t, ns, name)
		eventually(t, "sync "+manual, func() error {
			must(t, get(ctx, ns, "dest", rd))
			if rd.Status.LastManualSync != manual || rd.Status.LatestImage.Name != name {
				return fmt.Errorf("status: %+v", rd.Status)
			}
			return nil
		})
		if i == 0 {
			second = name
		}
	}
	must(t, get(ctx, ns, snapName, first))
	if metav1.IsControlledBy(first, rd) {
		t.Error("a do-not-delete snapshot must be released by the destination")
	}
	eventually(t, "replaced image deleted", func() error {
		if err := get(ctx, ns, second, &snapv1.VolumeSnapshot{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("snapshot %s still there: %w", second, err)
		}
		return nil
	})
	if v := metricValue(t, "volsync_sync_duration_seconds", series("dest", ns, "destination")); v != 3 {
		t.Errorf("duration observations = %v, want 3", v)
	}

	// Deleting the destination removes its series.
	must(t, k8s.Delete(ctx, rd))
	eventually(t, "series removed", func() error {
		if v := metricValue(t, "volsync_volume_out_of_sync", series("dest", ns, "destination")); v != -1 {
			return fmt.Errorf("series still there: %v", v)
		}
		return nil
	})
}

// TestDestinationQuietAtRest checks that an idle destination is not written again.
func TestDestinationQuietAtRest(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)
	rd := newDestination(ns, "quiet", "once")
	rd.Spec.RsyncTLS.CopyMethod = v1alpha1.CopyMethodDirect
	must(t, k8s.Create(ctx, rd))
	pvc := &corev1.PersistentVolumeClaim{}
	eventually(t, "destination PVC", func() error { return get(ctx, ns, "volsync-quiet-dst", pvc) })
	bind(t, pvc)
	succeed(t, ns, "volsync-rsync-tls-dst-quiet")
	eventually(t, "idle", func() error {
		must(t, get(ctx, ns, "quiet", rd))
		if rd.Status.LastManualSync != "once" || rd.Status.LatestImage == nil || rd.Status.LatestImage.Kind != "PersistentVolumeClaim" {
			return fmt.Errorf("status: %+v", rd.Status)
		}
		if c := condition(&rd.Status.CommonStatus); c.Reason != v1alpha1.SynchronizingReasonManual {
			return fmt.Errorf("not idle yet: %+v", c)
		}
		return nil
	})
	rv := rd.ResourceVersion
	for i := 0; i < 3; i++ {
		poke(t, rd)
	}
	// Each poke is a metadata write; the controller must add nothing after the last one.
	must(t, get(ctx, ns, "quiet", rd))
	pokedRV := rd.ResourceVersion
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		must(t, get(ctx, ns, "quiet", rd))
		if rd.ResourceVersion != pokedRV {
			t.Logf("status now: %+v", rd.Status)
			t.Fatalf("an idle reconcile wrote the object (resourceVersion %s -> %s, before pokes %s)", pokedRV, rd.ResourceVersion, rv)
		}
		time.Sleep(pollEvery)
	}
}
