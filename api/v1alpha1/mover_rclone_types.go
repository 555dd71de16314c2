package v1alpha1

// RcloneSpec holds the rclone settings shared by both sides.
// +kubebuilder:validation:XValidation:rule="has(self.rcloneConfig) && size(self.rcloneConfig) > 0",message="rcloneConfig (the name of a Secret holding rclone.conf) is required",fieldPath=".rcloneConfig"
// +kubebuilder:validation:XValidation:rule="has(self.rcloneConfigSection) && size(self.rcloneConfigSection) > 0",message="rcloneConfigSection is required",fieldPath=".rcloneConfigSection"
// +kubebuilder:validation:XValidation:rule="has(self.rcloneDestPath) && size(self.rcloneDestPath) > 0",message="rcloneDestPath is required",fieldPath=".rcloneDestPath"
type RcloneSpec struct {
	// rcloneConfigSection is the section of rclone.conf that describes the remote.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	RcloneConfigSection *string `json:"rcloneConfigSection,omitempty"`
	// rcloneDestPath is the path on the remote (e.g. bucket/dir).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	RcloneDestPath *string `json:"rcloneDestPath,omitempty"`
	// rcloneConfig names a Secret whose key rclone.conf holds the rclone configuration.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	RcloneConfig *string `json:"rcloneConfig,omitempty"`
	// customCA is a CA bundle the mover trusts.
	// +optional
	CustomCA    CustomCASpec `json:"customCA,omitempty"`
	MoverConfig `json:",inline"`
}

// ReplicationSourceRcloneSpec configures the rclone mover of a ReplicationSource.
type ReplicationSourceRcloneSpec struct {
	ReplicationSourceVolumeOptions `json:",inline"`
	RcloneSpec                     `json:",inline"`
}

// ReplicationDestinationRcloneSpec configures the rclone mover of a ReplicationDestination.
type ReplicationDestinationRcloneSpec struct {
	ReplicationDestinationVolumeOptions `json:",inline"`
	RcloneSpec                          `json:",inline"`
}
