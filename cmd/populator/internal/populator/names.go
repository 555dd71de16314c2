package populator

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Name is the component its events come from (the reference's controller name); its
// leader-election lease is volume-populator.volsync.backube.
const Name = "volsync-volume-populator"

// PopulatorName is the name of the cluster-scoped VolumePopulator that registers
// ReplicationDestination as a data source kind.
const PopulatorName = "volsync-replicationdestination"

// Objects the populator reads and writes.
const (
	rdKind        = "ReplicationDestination"
	snapshotKind  = "VolumeSnapshot"
	snapshotGroup = "snapshot.storage.k8s.io"
	// primePrefix + the user's PVC UID names the prime PVC.
	primePrefix = "vs-prime-"
	// selectedNodeAnnotation is where the scheduler records the node of a WaitForFirstConsumer claim.
	selectedNodeAnnotation = "volume.kubernetes.io/selected-node"
	// migratedToAnnotation marks a claim of an in-tree plugin handled by a CSI driver.
	migratedToAnnotation = "pv.kubernetes.io/migrated-to"
)

// PrimeName is the name of the prime PVC that populates the PVC of that UID.
func PrimeName(uid types.UID) string { return primePrefix + string(uid) }

// SnapshotLabel is the label that marks a VolumeSnapshot as the source of the PVC of that UID.
func SnapshotLabel(uid types.UID) string { return v1alpha1.PopulatorSnapshotLabelPrefix + string(uid) }

// LabelValue is name as a label value: itself when it is a valid one, else its first 63
// characters without trailing punctuation (labels only inform; lookups go by UID).
func LabelValue(name string) string {
	if len(validation.IsValidLabelValue(name)) == 0 {
		return name
	}
	if len(name) > validation.LabelValueMaxLength {
		name = name[:validation.LabelValueMaxLength]
	}
	name = strings.TrimRight(name, "-_.")
	if len(validation.IsValidLabelValue(name)) != 0 {
		return ""
	}
	return name
}

// SourceRD returns the name of the ReplicationDestination pvc is to be populated from, if
// its dataSourceRef names one (in its own namespace: cross-namespace references are not
// supported).
func SourceRD(pvc *corev1.PersistentVolumeClaim) (string, bool) {
	ref := pvc.Spec.DataSourceRef
	if ref == nil || ref.APIGroup == nil || *ref.APIGroup != v1alpha1.GroupVersion.Group || ref.Kind != rdKind {
		return "", false
	}
	return ref.Name, true
}

// crossNamespace reports whether pvc's dataSourceRef names another namespace.
func crossNamespace(pvc *corev1.PersistentVolumeClaim) bool {
	ref := pvc.Spec.DataSourceRef
	return ref != nil && ref.Namespace != nil && *ref.Namespace != "" && *ref.Namespace != pvc.Namespace
}

// isPrime reports whether pvc is a prime PVC of this populator.
func isPrime(pvc *corev1.PersistentVolumeClaim) bool {
	_, ok := pvc.Labels[v1alpha1.PopulatorPVCForLabel]
	return ok && strings.HasPrefix(pvc.Name, primePrefix)
}
