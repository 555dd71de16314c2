package v1alpha1

import corev1 "k8s.io/api/core/v1"

// ReplicationSourceRsyncTLSSpec configures the rsync-over-TLS mover of a ReplicationSource.
type ReplicationSourceRsyncTLSSpec struct {
	ReplicationSourceVolumeOptions `json:",inline"`
	// keySecret names a Secret whose key psk.txt holds the pre-shared key, as
	// "<identity>:<hex key>". When unset, one is generated.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	KeySecret *string `json:"keySecret,omitempty"`
	// address is the host name or IP address of the destination.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Address *string `json:"address,omitempty"`
	// port is the destination's port (default 8000).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port        *int32 `json:"port,omitempty"`
	MoverConfig `json:",inline"`
}

// ReplicationDestinationRsyncTLSSpec configures the rsync-over-TLS mover of a ReplicationDestination.
type ReplicationDestinationRsyncTLSSpec struct {
	ReplicationDestinationVolumeOptions `json:",inline"`
	// volumeMode is the volume mode of the provisioned destination PVC (default Filesystem).
	// The rsync-TLS mover copies files, so only Filesystem is accepted for now.
	// +optional
	// +kubebuilder:validation:Enum=Filesystem;Block
	// +kubebuilder:validation:XValidation:rule="self == 'Filesystem'",message="only Filesystem is supported by rsyncTLS for now (its mover copies files, not block devices): remove volumeMode or set it to Filesystem"
	VolumeMode *corev1.PersistentVolumeMode `json:"volumeMode,omitempty"`
	// keySecret names a Secret whose key psk.txt holds the pre-shared key, as
	// "<identity>:<hex key>". When unset, one is generated.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	KeySecret *string `json:"keySecret,omitempty"`
	// serviceType is the type of the Service that receives incoming connections.
	// +optional
	// +kubebuilder:validation:Enum=ClusterIP;LoadBalancer;NodePort
	ServiceType *corev1.ServiceType `json:"serviceType,omitempty"`
	// serviceAnnotations are set on that Service.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	ServiceAnnotations *map[string]string `json:"serviceAnnotations,omitempty"`
	MoverConfig        `json:",inline"`
}

// ReplicationSourceRsyncTLSStatus is the rsync-over-TLS status of a ReplicationSource.
type ReplicationSourceRsyncTLSStatus struct {
	// keySecret names the generated key Secret.
	// +optional
	KeySecret *string `json:"keySecret,omitempty"`
}

// ReplicationDestinationRsyncTLSStatus is the rsync-over-TLS status of a ReplicationDestination.
type ReplicationDestinationRsyncTLSStatus struct {
	// keySecret names the generated key Secret, which the source must use.
	// +optional
	KeySecret *string `json:"keySecret,omitempty"`
	// address is where the source connects.
	// +optional
	Address *string `json:"address,omitempty"`
	// port is the port where the source connects.
	// +optional
	Port *int32 `json:"port,omitempty"`
}
