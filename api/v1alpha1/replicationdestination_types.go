package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReplicationDestinationSpec describes where replicated data is received and how.
// +kubebuilder:validation:XValidation:rule="(has(self.rsync) ? 1 : 0) + (has(self.rsyncTLS) ? 1 : 0) + (has(self.rclone) ? 1 : 0) + (has(self.restic) ? 1 : 0) + (has(self.external) ? 1 : 0) == 1",message="exactly one of rsync, rsyncTLS, rclone, restic or external must be set"
type ReplicationDestinationSpec struct {
	// trigger says when to synchronize. Unset or empty: synchronize continuously.
	// +optional
	Trigger *ReplicationDestinationTriggerSpec `json:"trigger,omitempty"`
	// rsync receives data with rsync over ssh.
	// +optional
	Rsync *ReplicationDestinationRsyncSpec `json:"rsync,omitempty"`
	// rsyncTLS receives data with rsync over TLS with a pre-shared key.
	// +optional
	RsyncTLS *ReplicationDestinationRsyncTLSSpec `json:"rsyncTLS,omitempty"`
	// rclone restores data from an object store with rclone.
	// +optional
	Rclone *ReplicationDestinationRcloneSpec `json:"rclone,omitempty"`
	// restic restores data from a restic repository.
	// +optional
	Restic *ReplicationDestinationResticSpec `json:"restic,omitempty"`
	// external hands the object to an external provider.
	// +optional
	External *ReplicationDestinationExternalSpec `json:"external,omitempty"`
	// paused stops new synchronizations from running until it is cleared.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// ReplicationDestinationStatus is the observed state of a ReplicationDestination.
type ReplicationDestinationStatus struct {
	CommonStatus `json:",inline"`
	// latestImage is the most recent point-in-time image of the received data: a
	// VolumeSnapshot, or the PVC itself with copyMethod Direct.
	// +optional
	LatestImage *corev1.TypedLocalObjectReference `json:"latestImage,omitempty"`
	// rsync is the rsync-over-ssh status.
	// +optional
	Rsync *ReplicationDestinationRsyncStatus `json:"rsync,omitempty"`
	// rsyncTLS is the rsync-over-TLS status.
	// +optional
	RsyncTLS *ReplicationDestinationRsyncTLSStatus `json:"rsyncTLS,omitempty"`
	// external is written by external providers.
	// +optional
	External map[string]string `json:"external,omitempty"`
}

// ReplicationDestination receives replicated data into a PersistentVolumeClaim.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:printcolumn:name="Last sync",type="string",format="date-time",JSONPath=".status.lastSyncTime"
// +kubebuilder:printcolumn:name="Duration",type="string",JSONPath=".status.lastSyncDuration"
// +kubebuilder:printcolumn:name="Next sync",type="string",format="date-time",JSONPath=".status.nextSyncTime"
type ReplicationDestination struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired replication.
	// +optional
	Spec ReplicationDestinationSpec `json:"spec,omitempty"`
	// status is the observed state.
	// +optional
	Status *ReplicationDestinationStatus `json:"status,omitempty"`
}

// ReplicationDestinationList is a list of ReplicationDestinations.
// +kubebuilder:object:root=true
type ReplicationDestinationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ReplicationDestination `json:"items"`
}
