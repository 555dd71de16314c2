package populator

import (
	"fmt"
	"strings"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Event reasons: the reference implementation's, and one of ours (ReasonNotRegistered).
const (
	ReasonFinished         = "VolSyncPopulatorFinished"
	ReasonError            = "VolSyncPopulatorError"
	ReasonRDMissing        = "VolSyncPopulatorReplicationDestinationMissing"
	ReasonNoLatestImage    = "VolSyncPopulatorReplicationDestinationNoLatestImage"
	ReasonPVCCreated       = "VolSyncPopulatorPVCCreated"
	ReasonPVCCreationError = "VolSyncPopulatorPVCCreationError"
	// ReasonNotRegistered: the VolumePopulator CRD is missing, so ReplicationDestination is not
	// registered as a data source kind (population works without it).
	ReasonNotRegistered = "VolSyncPopulatorNotRegistered"
	// ActionProvision is the action of every populator event.
	ActionProvision = "Provision Volume"
)

// Notice is why a PVC waits or cannot be populated yet: an event on the PVC, emitted when it
// changes (not at every reconcile).
type Notice struct {
	Warning         bool
	Reason, Message string
}

func warning(reason, format string, args ...any) *Notice {
	return &Notice{Warning: true, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// checkClaim refuses a claim whose data source the populator cannot serve.
func checkClaim(pvc *corev1.PersistentVolumeClaim) *Notice {
	if crossNamespace(pvc) {
		return warning(ReasonError, "Unable to populate volume: a ReplicationDestination in another namespace (%s) cannot be a data source; "+
			"create the PVC in the ReplicationDestination's namespace", *pvc.Spec.DataSourceRef.Namespace)
	}
	return nil
}

// checkClass decides whether the claim's StorageClass (nil: not found) can provision the prime
// PVC now. A notice says why not; wait without a notice means the scheduler has not picked a
// node for a WaitForFirstConsumer claim yet (Kubernetes reports that on the PVC itself).
func checkClass(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) (n *Notice, wait bool) {
	name := ""
	if pvc.Spec.StorageClassName != nil {
		name = *pvc.Spec.StorageClassName
	}
	switch {
	case name == "":
		return warning(ReasonError, "Unable to populate volume: the PVC has no storageClassName and the cluster no default StorageClass; "+
			"a populated volume needs a StorageClass whose CSI driver restores VolumeSnapshots (set a default StorageClass or recreate the PVC with one)"), true
	case class == nil:
		return warning(ReasonError, "Unable to populate volume: StorageClass %q not found; create it or recreate the PVC with an existing StorageClass "+
			"(population starts when it exists)", name), true
	case strings.HasPrefix(class.Provisioner, "kubernetes.io/") && pvc.Annotations[migratedToAnnotation] == "":
		return warning(ReasonError, "Unable to populate volume: StorageClass %q uses the in-tree volume plugin %q, which cannot populate volumes; "+
			"recreate the PVC with a StorageClass of a CSI driver", name, class.Provisioner), true
	case class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer &&
		pvc.Annotations[selectedNodeAnnotation] == "":
		return nil, true
	}
	return nil, false
}

// checkSource returns the VolumeSnapshot to restore from the ReplicationDestination (nil: not
// found), or why there is none yet.
func checkSource(pvc *corev1.PersistentVolumeClaim, rdName string, rd *v1alpha1.ReplicationDestination) (string, *Notice) {
	if rd == nil {
		return "", warning(ReasonRDMissing, "Unable to populate volume: ReplicationDestination %q not found in namespace %q; "+
			"create it or correct the PVC's dataSourceRef.name (the PVC is populated once it has a latest image)", rdName, pvc.Namespace)
	}
	img := rd.Status.LatestImage
	if img == nil {
		return "", &Notice{Reason: ReasonNoLatestImage, Message: fmt.Sprintf(
			"Unable to populate volume, waiting for replicationdestination to have latestImage: ReplicationDestination %q has not completed a synchronization yet", rdName)}
	}
	if img.Kind != snapshotKind || img.APIGroup == nil || *img.APIGroup != snapshotGroup {
		return "", warning(ReasonError, "Unable to populate volume: ReplicationDestination latestImage is not a volumesnapshot (it is %s %q); "+
			"only a ReplicationDestination with copyMethod: Snapshot can populate a PVC", img.Kind, img.Name)
	}
	return img.Name, nil
}

// checkSnapshot decides whether the claim can be restored from snap (nil: not found), taken
// by the CSI driver driver ("" when unknown).
func checkSnapshot(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, rdName, name string,
	snap *snapv1.VolumeSnapshot, driver string) *Notice {
	if snap == nil || snap.DeletionTimestamp != nil {
		return warning(ReasonError, "Unable to populate volume: VolumeSnapshot %q, the latest image of ReplicationDestination %q, is gone; "+
			"waiting for its next synchronization", name, rdName)
	}
	if driver != "" && class != nil && class.Provisioner != driver && pvc.Annotations[migratedToAnnotation] == "" {
		return warning(ReasonError, "Unable to populate volume: StorageClass %q (provisioner %q) cannot restore VolumeSnapshot %q of CSI driver %q; "+
			"recreate the PVC with a StorageClass of %q", class.Name, class.Provisioner, name, driver, driver)
	}
	if snap.Status != nil && snap.Status.RestoreSize != nil {
		want := snap.Status.RestoreSize
		got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		if got.Cmp(*want) < 0 {
			return warning(ReasonError, "Unable to populate volume: the PVC requests %s but VolumeSnapshot %q needs at least %s; "+
				"recreate the PVC with spec.resources.requests.storage of %s or more", got.String(), name, want.String(), want.String())
		}
	}
	return nil
}

// claimRefIs reports whether pv is reserved for pvc.
func claimRefIs(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) bool {
	ref := pv.Spec.ClaimRef
	return ref != nil && ref.Namespace == pvc.Namespace && ref.Name == pvc.Name && ref.UID == pvc.UID
}

// primeDone reports whether the prime PVC has given its volume away: the user's PVC is bound
// and the prime PVC lost its volume (or never had that one).
func primeDone(pvc, prime *corev1.PersistentVolumeClaim) bool {
	return pvc.Spec.VolumeName != "" &&
		(prime.Status.Phase == corev1.ClaimLost || prime.Spec.VolumeName != pvc.Spec.VolumeName)
}

// deferred reports whether snap, no longer marked for a population, is an image its
// ReplicationDestination replaced (cleanup label) and handed to the population alone (it has
// no owner left; one the prime PVC owns goes with the prime PVC), and not kept by the user.
func deferred(snap *snapv1.VolumeSnapshot) bool {
	if _, keep := snap.Labels[v1alpha1.DoNotDeleteLabel]; keep || snap.Labels[v1alpha1.CleanupLabel] == "" {
		return false
	}
	return len(snap.OwnerReferences) == 0
}
