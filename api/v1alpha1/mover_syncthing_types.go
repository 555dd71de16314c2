package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// SyncthingPeer is a Syncthing device to connect to.
type SyncthingPeer struct {
	// address is the peer's address, e.g. tcp://192.0.2.10:22000 (its status.syncthing.address).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self == 'dynamic' || self.matches('^(tcp|tcp4|tcp6|quic|quic4|quic6)://[^/]+$')",message="must be a Syncthing address such as tcp://192.0.2.10:22000 (tcp, tcp4, tcp6, quic, quic4 or quic6), or dynamic"
	Address string `json:"address"`
	// ID is the peer's Syncthing device ID (its status.syncthing.ID): eight groups of seven
	// characters A-Z and 2-7 separated by dashes.
	// +required
	// +kubebuilder:validation:MinLength=63
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$')",message="must be a Syncthing device ID: eight groups of seven characters A-Z and 2-7 separated by dashes, as in status.syncthing.ID"
	ID string `json:"ID"`
	// introducer lets the peer introduce this device to its own peers.
	// +optional
	Introducer bool `json:"introducer"`
}

// ReplicationSourceSyncthingSpec configures the Syncthing mover of a ReplicationSource.
type ReplicationSourceSyncthingSpec struct {
	// peers are the devices to share the volume with, each once.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(p, self.exists_one(q, q.ID == p.ID))",message="each peer ID may appear only once"
	Peers []SyncthingPeer `json:"peers,omitempty"`
	// serviceType is the type of the Service that receives Syncthing connections.
	// +optional
	// +kubebuilder:validation:Enum=ClusterIP;LoadBalancer;NodePort
	ServiceType *corev1.ServiceType `json:"serviceType,omitempty"`
	// configCapacity is the size of the PVC holding Syncthing's configuration (default 1Gi).
	// +optional
	ConfigCapacity *resource.Quantity `json:"configCapacity,omitempty"`
	// configStorageClassName is the StorageClass of that PVC (default: the source PVC's).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ConfigStorageClassName *string `json:"configStorageClassName,omitempty"`
	// configAccessModes are the access modes of that PVC (default: the source PVC's).
	// +optional
	// +kubebuilder:validation:MaxItems=4
	ConfigAccessModes []corev1.PersistentVolumeAccessMode `json:"configAccessModes,omitempty"`
	MoverConfig       `json:",inline"`
}

// SyncthingPeerStatus is the state of a Syncthing peer.
type SyncthingPeerStatus struct {
	// address is the peer's address.
	Address string `json:"address"`
	// ID is the peer's device ID.
	ID string `json:"ID"`
	// connected tells whether the peer is connected.
	Connected bool `json:"connected"`
	// introducedBy is the device that introduced this peer.
	// +optional
	IntroducedBy string `json:"introducedBy,omitempty"`
	// name is the peer's device name.
	// +optional
	Name string `json:"name,omitempty"`
}

// ReplicationSourceSyncthingStatus is the Syncthing status of a ReplicationSource.
type ReplicationSourceSyncthingStatus struct {
	// peers are the peers and their state.
	// +optional
	Peers []SyncthingPeerStatus `json:"peers,omitempty"`
	// ID is this device's Syncthing ID.
	// +optional
	ID string `json:"ID,omitempty"`
	// address is where peers connect to this device.
	// +optional
	Address string `json:"address,omitempty"`
}
