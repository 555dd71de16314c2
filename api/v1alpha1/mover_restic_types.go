package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ReplicationSourceResticCA is the CA bundle of a source's restic repository.
type ReplicationSourceResticCA = CustomCASpec

// ReplicationDestinationResticCA is the CA bundle of a destination's restic repository.
type ReplicationDestinationResticCA = CustomCASpec

// ResticCacheSpec sizes the PVC that holds restic's cache.
type ResticCacheSpec struct {
	// cacheCapacity is the size of the cache PVC (default 1Gi).
	// +optional
	CacheCapacity *resource.Quantity `json:"cacheCapacity,omitempty"`
	// cacheStorageClassName is the StorageClass of the cache PVC (default: storageClassName).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	CacheStorageClassName *string `json:"cacheStorageClassName,omitempty"`
	// cacheAccessModes are the access modes of the cache PVC (default: accessModes).
	// +optional
	// +kubebuilder:validation:MaxItems=4
	CacheAccessModes []corev1.PersistentVolumeAccessMode `json:"cacheAccessModes,omitempty"`
}

// ResticRetainPolicy says which snapshots `restic forget` keeps.
// +kubebuilder:validation:XValidation:rule="!has(self.last) || (type(self.last) == int ? int(self.last) >= 0 : string(self.last).matches('^[0-9]+$'))",message="last must be a non-negative whole number",fieldPath=".last"
type ResticRetainPolicy struct {
	// hourly keeps the newest snapshot of this many hours.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Hourly *int32 `json:"hourly,omitempty"`
	// daily keeps the newest snapshot of this many days.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Daily *int32 `json:"daily,omitempty"`
	// weekly keeps the newest snapshot of this many weeks.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Weekly *int32 `json:"weekly,omitempty"`
	// monthly keeps the newest snapshot of this many months.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Monthly *int32 `json:"monthly,omitempty"`
	// yearly keeps the newest snapshot of this many years.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Yearly *int32 `json:"yearly,omitempty"`
	// within keeps every snapshot taken within this duration of the newest (e.g. 3d12h):
	// whole numbers of years (y), months (m), weeks (w, passed to restic as 7 days), days (d)
	// and hours (h).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]+[ymwdh])+$`
	Within *string `json:"within,omitempty"`
	// last keeps this many of the newest snapshots. It takes a number or a string of digits.
	// +optional
	Last *intstr.IntOrString `json:"last,omitempty"`
}

// ReplicationSourceResticSpec configures the restic mover of a ReplicationSource.
type ReplicationSourceResticSpec struct {
	ReplicationSourceVolumeOptions `json:",inline"`
	// pruneIntervalDays is the number of days between runs of `restic prune` (default 7).
	// +optional
	// +kubebuilder:validation:Minimum=0
	PruneIntervalDays *int32 `json:"pruneIntervalDays,omitempty"`
	// repository names a Secret holding RESTIC_REPOSITORY, RESTIC_PASSWORD and the
	// credentials of the repository.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Repository string `json:"repository"`
	// customCA is a CA bundle the mover trusts.
	// +optional
	CustomCA ReplicationSourceResticCA `json:"customCA,omitempty"`
	// retain is the snapshot retention policy (default: keep the last one).
	// +optional
	Retain          *ResticRetainPolicy `json:"retain,omitempty"`
	ResticCacheSpec `json:",inline"`
	// unlock runs `restic unlock` before the next backup whenever its value differs from
	// status.restic.lastUnlocked.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Unlock      string `json:"unlock,omitempty"`
	MoverConfig `json:",inline"`
}

// ReplicationDestinationResticSpec configures the restic mover of a ReplicationDestination.
type ReplicationDestinationResticSpec struct {
	ReplicationDestinationVolumeOptions `json:",inline"`
	// repository names a Secret holding RESTIC_REPOSITORY, RESTIC_PASSWORD and the
	// credentials of the repository.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Repository string `json:"repository"`
	// customCA is a CA bundle the mover trusts.
	// +optional
	CustomCA        ReplicationDestinationResticCA `json:"customCA,omitempty"`
	ResticCacheSpec `json:",inline"`
	// cleanupCachePVC deletes the cache PVC after each successful restore.
	// +optional
	CleanupCachePVC bool `json:"cleanupCachePVC,omitempty"`
	// previous skips this many of the newest snapshots (after restoreAsOf) when choosing
	// the one to restore.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Previous *int32 `json:"previous,omitempty"`
	// restoreAsOf restores the newest snapshot taken at or before this RFC 3339 time.
	// +optional
	// +kubebuilder:validation:Format=date-time
	// +kubebuilder:validation:MaxLength=64
	RestoreAsOf *string `json:"restoreAsOf,omitempty"`
	// enableFileDeletion deletes files in the destination that the snapshot lacks.
	// +optional
	EnableFileDeletion bool `json:"enableFileDeletion,omitempty"`
	MoverConfig        `json:",inline"`
}

// ReplicationSourceResticStatus is the restic status of a ReplicationSource.
type ReplicationSourceResticStatus struct {
	// lastPruned is when the repository was last pruned.
	// +optional
	LastPruned *metav1.Time `json:"lastPruned,omitempty"`
	// lastUnlocked is the value of spec.restic.unlock when the repository was last unlocked.
	// +optional
	LastUnlocked string `json:"lastUnlocked,omitempty"`
}
