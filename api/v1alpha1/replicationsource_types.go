package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReplicationSourceSpec describes a volume to replicate and how.
// +kubebuilder:validation:XValidation:rule="(has(self.rsync) ? 1 : 0) + (has(self.rsyncTLS) ? 1 : 0) + (has(self.rclone) ? 1 : 0) + (has(self.restic) ? 1 : 0) + (has(self.syncthing) ? 1 : 0) + (has(self.external) ? 1 : 0) == 1",message="exactly one of rsync, rsyncTLS, rclone, restic, syncthing or external must be set"
// +kubebuilder:validation:XValidation:rule="has(self.external) || (has(self.sourcePVC) && size(self.sourcePVC) > 0)",message="sourcePVC is required",fieldPath=".sourcePVC"
type ReplicationSourceSpec struct {
	// sourcePVC is the name of the PVC, in this namespace, to replicate.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SourcePVC string `json:"sourcePVC,omitempty"`
	// trigger says when to synchronize. Unset or empty: synchronize continuously.
	// +optional
	Trigger *ReplicationSourceTriggerSpec `json:"trigger,omitempty"`
	// rsync replicates with rsync over ssh.
	// +optional
	Rsync *ReplicationSourceRsyncSpec `json:"rsync,omitempty"`
	// rsyncTLS replicates with rsync over TLS with a pre-shared key.
	// +optional
	RsyncTLS *ReplicationSourceRsyncTLSSpec `json:"rsyncTLS,omitempty"`
	// rclone copies the volume to an object store with rclone.
	// +optional
	Rclone *ReplicationSourceRcloneSpec `json:"rclone,omitempty"`
	// restic backs the volume up to a restic repository.
	// +optional
	Restic *ReplicationSourceResticSpec `json:"restic,omitempty"`
	// syncthing keeps the volume in sync with Syncthing peers.
	// +optional
	Syncthing *ReplicationSourceSyncthingSpec `json:"syncthing,omitempty"`
	// external hands the object to an external provider.
	// +optional
	External *ReplicationSourceExternalSpec `json:"external,omitempty"`
	// paused stops new synchronizations from running until it is cleared.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// ReplicationSourceStatus is the observed state of a ReplicationSource.
type ReplicationSourceStatus struct {
	CommonStatus `json:",inline"`
	// rsync is the rsync-over-ssh status.
	// +optional
	Rsync *ReplicationSourceRsyncStatus `json:"rsync,omitempty"`
	// rsyncTLS is the rsync-over-TLS status.
	// +optional
	RsyncTLS *ReplicationSourceRsyncTLSStatus `json:"rsyncTLS,omitempty"`
	// restic is the restic status.
	// +optional
	Restic *ReplicationSourceResticStatus `json:"restic,omitempty"`
	// syncthing is the Syncthing status.
	// +optional
	Syncthing *ReplicationSourceSyncthingStatus `json:"syncthing,omitempty"`
	// external is written by external providers.
	// +optional
	External map[string]string `json:"external,omitempty"`
}

// ReplicationSource replicates a PersistentVolumeClaim to a destination.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:printcolumn:name="Source",type="string",JSONPath=".spec.sourcePVC"
// +kubebuilder:printcolumn:name="Last sync",type="string",format="date-time",JSONPath=".status.lastSyncTime"
// +kubebuilder:printcolumn:name="Duration",type="string",JSONPath=".status.lastSyncDuration"
// +kubebuilder:printcolumn:name="Next sync",type="string",format="date-time",JSONPath=".status.nextSyncTime"
// +kubebuilder:printcolumn:name="Last pruned",type="string",format="date-time",JSONPath=".status.restic.lastPruned",priority=1
// +kubebuilder:printcolumn:name="Syncthing ID",type="string",JSONPath=".status.syncthing.ID",priority=1
// +kubebuilder:printcolumn:name="Syncthing address",type="string",JSONPath=".status.syncthing.address",priority=1
type ReplicationSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired replication.
	// +optional
	Spec ReplicationSourceSpec `json:"spec,omitempty"`
	// status is the observed state.
	// +optional
	Status *ReplicationSourceStatus `json:"status,omitempty"`
}

// ReplicationSourceList is a list of ReplicationSources.
// +kubebuilder:object:root=true
type ReplicationSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ReplicationSource `json:"items"`
}
