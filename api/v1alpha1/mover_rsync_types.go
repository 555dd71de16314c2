package v1alpha1

import corev1 "k8s.io/api/core/v1"

// ReplicationSourceRsyncSpec configures the rsync-over-ssh mover of a ReplicationSource.
type ReplicationSourceRsyncSpec struct {
	ReplicationSourceVolumeOptions `json:",inline"`
	// sshKeys names a Secret with the keys source, source.pub and destination.pub.
	// When unset, keys are generated.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SSHKeys *string `json:"sshKeys,omitempty"`
	// serviceType is the type of the Service created when address is not set.
	// +optional
	// +kubebuilder:validation:Enum=ClusterIP;LoadBalancer;NodePort
	ServiceType *corev1.ServiceType `json:"serviceType,omitempty"`
	// address is the host name or IP address of the destination.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Address *string `json:"address,omitempty"`
	// port is the destination's ssh port (default 22).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port *int32 `json:"port,omitempty"`
	// path is where the data is written on the destination, relative to the root of its
	// volume (or to the ssh user's home on a server outside Kubernetes); default "/".
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Path *string `json:"path,omitempty"`
	// sshUser is the login name used on the destination (default "root").
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SSHUser *string `json:"sshUser,omitempty"`
	// moverServiceAccount names an existing ServiceAccount for the mover pod.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	MoverServiceAccount *string `json:"moverServiceAccount,omitempty"`
	// moverPodLabels are added to the labels of the mover pod.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	MoverPodLabels map[string]string `json:"moverPodLabels,omitempty"`
	// moverResources are the resource requests and limits of the mover's containers.
	// +optional
	MoverResources *corev1.ResourceRequirements `json:"moverResources,omitempty"`
}

// ReplicationDestinationRsyncSpec configures the rsync-over-ssh mover of a ReplicationDestination.
type ReplicationDestinationRsyncSpec struct {
	ReplicationDestinationVolumeOptions `json:",inline"`
	// volumeMode is the volume mode of the provisioned destination PVC (default Filesystem).
	// +optional
	// +kubebuilder:validation:Enum=Filesystem;Block
	VolumeMode *corev1.PersistentVolumeMode `json:"volumeMode,omitempty"`
	// sshKeys names a Secret with the keys destination, destination.pub and source.pub.
	// When unset, keys are generated.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SSHKeys *string `json:"sshKeys,omitempty"`
	// serviceType is the type of the Service that receives incoming connections.
	// +optional
	// +kubebuilder:validation:Enum=ClusterIP;LoadBalancer;NodePort
	ServiceType *corev1.ServiceType `json:"serviceType,omitempty"`
	// serviceAnnotations are set on that Service.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	ServiceAnnotations *map[string]string `json:"serviceAnnotations,omitempty"`
	// address, when set, means no Service is created.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Address *string `json:"address,omitempty"`
	// port is the port of the Service (default 22).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port *int32 `json:"port,omitempty"`
	// path is accepted for compatibility and ignored.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Path *string `json:"path,omitempty"`
	// sshUser is the login name sources give (any name is accepted; this one is known from
	// the start).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SSHUser *string `json:"sshUser,omitempty"`
	// moverServiceAccount names an existing ServiceAccount for the mover pod.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	MoverServiceAccount *string `json:"moverServiceAccount,omitempty"`
	// moverPodLabels are added to the labels of the mover pod.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	MoverPodLabels map[string]string `json:"moverPodLabels,omitempty"`
	// moverResources are the resource requests and limits of the mover's containers.
	// +optional
	MoverResources *corev1.ResourceRequirements `json:"moverResources,omitempty"`
}

// ReplicationSourceRsyncStatus is the rsync-over-ssh status of a ReplicationSource.
type ReplicationSourceRsyncStatus struct {
	// sshKeys names the generated Secret that the destination must use.
	// +optional
	SSHKeys *string `json:"sshKeys,omitempty"`
	// address is the address of the source's Service.
	// +optional
	Address *string `json:"address,omitempty"`
	// port is kept for compatibility.
	// +optional
	Port *int32 `json:"port,omitempty"`
}

// ReplicationDestinationRsyncStatus is the rsync-over-ssh status of a ReplicationDestination.
type ReplicationDestinationRsyncStatus struct {
	// sshKeys names the generated Secret that the source must use.
	// +optional
	SSHKeys *string `json:"sshKeys,omitempty"`
	// address is where the source connects.
	// +optional
	Address *string `json:"address,omitempty"`
	// port is the port where the source connects.
	// +optional
	Port *int32 `json:"port,omitempty"`
}
