//go:build e2e

package rclone

import (
	"fmt"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// checkCleanup deletes the sides of a replication and checks that what VolSync made for them
// goes too: in every namespace involved, no Job, PVC or VolumeSnapshot labelled as created by
// VolSync (the mover Jobs, temporary PVCs and snapshots, provisioned destination PVCs, the
// destinations' images) and nothing with the cleanup label. The user's PVCs, keep, stay. It
// runs as the subtest Deletion of the case.
func checkCleanup(t *testing.T, sides []side, keep ...client.ObjectKey) {
	t.Helper()
	t.Run("Deletion", func(t *testing.T) { deleteAndCheck(t, sides, keep) })
}

// deleteAndCheck is checkCleanup's body.
func deleteAndCheck(t *testing.T, sides []side, keep []client.ObjectKey) {
	t.Helper()
	ctx := cluster.Ctx(t, deleteTimeout)
	namespaces := map[string]bool{}
	var provisioned []client.Object
	for _, s := range sides {
		o := s.object()
		namespaces[o.GetNamespace()] = true
		if d, ok := s.(dst); ok {
			provisioned = append(provisioned, expectLabelled(t, d)...)
		}
		cluster.Must(t, cluster.C.Delete(ctx, o))
	}
	for _, s := range sides {
		cluster.WaitGone(t, deleteTimeout, s.object())
	}
	for _, o := range provisioned {
		cluster.WaitGone(t, deleteTimeout, o)
	}
	for ns := range namespaces {
		cluster.Eventually(t, deleteTimeout, "VolSync's objects in "+ns+" to go", func() error {
			return leftovers(t, ns)
		})
	}
	for _, k := range keep {
		cluster.Must(t, cluster.C.Get(ctx, k, &corev1.PersistentVolumeClaim{}))
	}
}

// expectLabelled checks that what VolSync made for a destination is labelled as created by
// VolSync (the leftovers check means something only then), and returns those objects: its
// provisioned volume volsync-<rd>-dest (none with destinationPVC) and its image (when a
// VolumeSnapshot).
func expectLabelled(t *testing.T, d dst) []client.Object {
	t.Helper()
	ctx := cluster.Ctx(t, deleteTimeout)
	var made []client.Object
	if d.Spec.Rclone.DestinationPVC == nil {
		made = append(made, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: "volsync-" + d.Name + "-dest"}})
	}
	if img := d.Status.LatestImage; img != nil && img.Kind == "VolumeSnapshot" {
		made = append(made, &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: img.Name}})
	}
	for _, o := range made {
		cluster.Must(t, cluster.C.Get(ctx, client.ObjectKeyFromObject(o), o))
		if o.GetLabels()[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
			t.Errorf("%T %s/%s is not labelled %s=%s: %v", o, d.Namespace, o.GetName(), v1alpha1.CreatedByLabel, v1alpha1.CreatedByValue, o.GetLabels())
		}
	}
	return made
}

// leftovers returns an error naming the Jobs, PVCs and VolumeSnapshots in ns that VolSync
// created or marked for cleanup, or nil when there are none.
func leftovers(t *testing.T, ns string) error {
	t.Helper()
	ctx := cluster.Ctx(t, deleteTimeout)
	var left []string
	for _, sel := range []client.ListOption{
		client.MatchingLabels{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue},
		client.HasLabels{v1alpha1.CleanupLabel},
	} {
		for _, list := range []client.ObjectList{&batchv1.JobList{}, &corev1.PersistentVolumeClaimList{}, &snapv1.VolumeSnapshotList{}} {
			if err := cluster.C.List(ctx, list, client.InNamespace(ns), sel); err != nil {
				return err
			}
			items, err := meta.ExtractList(list)
			if err != nil {
				return err
			}
			for _, o := range items {
				m, err := meta.Accessor(o)
				if err != nil {
					return err
				}
				left = append(left, fmt.Sprintf("%T %s", o, m.GetName()))
			}
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("left: %v", left)
	}
	return nil
}
