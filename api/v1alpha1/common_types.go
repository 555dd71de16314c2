package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SchedulePattern is the pattern every trigger.schedule must match: a five-field cron
// expression (with ranges, lists, steps and month/day names) or one of the @-descriptors.
// It is anchored at both ends, unlike the reference implementation's pattern. The same string
// is on the schedule fields' Pattern markers; a test keeps them equal.
const SchedulePattern = `^ *(?:@(?:annually|yearly|monthly|weekly|daily|hourly)|(?:\*|[0-5]?[0-9](?:-[0-5]?[0-9])?)(?:/[1-9][0-9]*)?(?:,(?:\*|[0-5]?[0-9](?:-[0-5]?[0-9])?)(?:/[1-9][0-9]*)?)*[ \t]+(?:\*|(?:[01]?[0-9]|2[0-3])(?:-(?:[01]?[0-9]|2[0-3]))?)(?:/[1-9][0-9]*)?(?:,(?:\*|(?:[01]?[0-9]|2[0-3])(?:-(?:[01]?[0-9]|2[0-3]))?)(?:/[1-9][0-9]*)?)*[ \t]+(?:[*?]|(?:0?[1-9]|[12][0-9]|3[01])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)(?:/[1-9][0-9]*)?(?:,(?:[*?]|(?:0?[1-9]|[12][0-9]|3[01])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)(?:/[1-9][0-9]*)?)*[ \t]+(?:\*|(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?:-(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(?:/[1-9][0-9]*)?(?:,(?:\*|(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?:-(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(?:/[1-9][0-9]*)?)*[ \t]+(?:[*?]|(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(?:-(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(?:/[1-9][0-9]*)?(?:,(?:[*?]|(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(?:-(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(?:/[1-9][0-9]*)?)*) *$`

// CopyMethodType says how a point-in-time image of a volume is made.
// +kubebuilder:validation:Enum=Direct;None;Clone;Snapshot
type CopyMethodType string

const (
	// CopyMethodDirect uses the volume itself, without a copy.
	CopyMethodDirect CopyMethodType = "Direct"
	// CopyMethodNone is the deprecated name of CopyMethodDirect.
	CopyMethodNone CopyMethodType = "None"
	// CopyMethodClone copies the volume with a CSI clone.
	CopyMethodClone CopyMethodType = "Clone"
	// CopyMethodSnapshot copies the volume through a VolumeSnapshot.
	CopyMethodSnapshot CopyMethodType = "Snapshot"
)

// TriggerSpec says when a synchronization starts. With neither field set, synchronizations
// run back to back.
type TriggerSpec struct {
	// schedule is a cron expression (five fields, or @hourly, @daily, @weekly, @monthly,
	// @yearly, @annually) giving the start times of synchronizations.
	// +optional
	// +kubebuilder:validation:MaxLength=1200
	// +kubebuilder:validation:Pattern=`^ *(?:@(?:annually|yearly|monthly|weekly|daily|hourly)|(?:\*|[0-5]?[0-9](?:-[0-5]?[0-9])?)(?:/[1-9][0-9]*)?(?:,(?:\*|[0-5]?[0-9](?:-[0-5]?[0-9])?)(?:/[1-9][0-9]*)?)*[ \t]+(?:\*|(?:[01]?[0-9]|2[0-3])(?:-(?:[01]?[0-9]|2[0-3]))?)(?:/[1-9][0-9]*)?(?:,(?:\*|(?:[01]?[0-9]|2[0-3])(?:-(?:[01]?[0-9]|2[0-3]))?)(?:/[1-9][0-9]*)?)*[ \t]+(?:[*?]|(?:0?[1-9]|[12][0-9]|3[01])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)(?:/[1-9][0-9]*)?(?:,(?:[*?]|(?:0?[1-9]|[12][0-9]|3[01])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)(?:/[1-9][0-9]*)?)*[ \t]+(?:\*|(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?:-(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(?:/[1-9][0-9]*)?(?:,(?:\*|(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?:-(?:0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(?:/[1-9][0-9]*)?)*[ \t]+(?:[*?]|(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(?:-(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(?:/[1-9][0-9]*)?(?:,(?:[*?]|(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(?:-(?:[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(?:/[1-9][0-9]*)?)*) *$`
	Schedule *string `json:"schedule,omitempty"`
	// manual starts one synchronization each time its value changes; once it is done the
	// value is copied to status.lastManualSync. It takes precedence over schedule.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Manual string `json:"manual,omitempty"`
}

// ReplicationSourceTriggerSpec says when a ReplicationSource synchronizes.
type ReplicationSourceTriggerSpec = TriggerSpec

// ReplicationDestinationTriggerSpec says when a ReplicationDestination synchronizes.
type ReplicationDestinationTriggerSpec = TriggerSpec

// ReplicationSourceVolumeOptions say how the source's point-in-time copy is made.
type ReplicationSourceVolumeOptions struct {
	// copyMethod is how the point-in-time copy of the source volume is made: Clone,
	// Snapshot, or Direct (None is the deprecated name of Direct) to use the volume itself.
	// +optional
	CopyMethod CopyMethodType `json:"copyMethod,omitempty"`
	// capacity overrides the size of the point-in-time copy (default: the source's).
	// +optional
	Capacity *resource.Quantity `json:"capacity,omitempty"`
	// storageClassName overrides the StorageClass of the point-in-time copy.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName *string `json:"storageClassName,omitempty"`
	// accessModes overrides the access modes of the point-in-time copy.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`
	// volumeSnapshotClassName is the VolumeSnapshotClass used with copyMethod Snapshot
	// (default: the cluster's default class).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshotClassName *string `json:"volumeSnapshotClassName,omitempty"`
}

// ReplicationDestinationVolumeOptions say where incoming data is written and how the
// destination's point-in-time image is made.
// +kubebuilder:validation:XValidation:rule="!has(self.copyMethod) || self.copyMethod != 'Clone'",message="copyMethod Clone is not supported on a ReplicationDestination: use Snapshot, or Direct to keep the data in the PVC",fieldPath=".copyMethod"
// +kubebuilder:validation:XValidation:rule="(has(self.destinationPVC) && size(self.destinationPVC) > 0) || has(self.capacity)",message="capacity is required unless destinationPVC is set",fieldPath=".capacity"
// +kubebuilder:validation:XValidation:rule="(has(self.destinationPVC) && size(self.destinationPVC) > 0) || has(self.accessModes)",message="accessModes is required unless destinationPVC is set",fieldPath=".accessModes"
type ReplicationDestinationVolumeOptions struct {
	// copyMethod is how the image in status.latestImage is made after each synchronization:
	// Snapshot takes a VolumeSnapshot of the destination PVC; Direct (or the deprecated None)
	// points at the PVC itself. Clone is rejected.
	// +optional
	CopyMethod CopyMethodType `json:"copyMethod,omitempty"`
	// capacity is the size of the destination PVC provisioned when destinationPVC is not set.
	// +optional
	Capacity *resource.Quantity `json:"capacity,omitempty"`
	// storageClassName is the StorageClass of the provisioned destination PVC.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName *string `json:"storageClassName,omitempty"`
	// accessModes are the access modes of the provisioned destination PVC.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`
	// volumeSnapshotClassName is the VolumeSnapshotClass used with copyMethod Snapshot.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshotClassName *string `json:"volumeSnapshotClassName,omitempty"`
	// destinationPVC names an existing PVC to write into instead of provisioning one.
	// It is never deleted by VolSync.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	DestinationPVC *string `json:"destinationPVC,omitempty"`
	// cleanupTempPVC deletes the provisioned destination PVC after each successful
	// synchronization. It has no effect with destinationPVC.
	// +optional
	CleanupTempPVC bool `json:"cleanupTempPVC,omitempty"`
}

// MoverConfig holds the options of the mover pod shared by most movers.
type MoverConfig struct {
	// moverSecurityContext is the pod security context of the mover pod.
	// +optional
	MoverSecurityContext *corev1.PodSecurityContext `json:"moverSecurityContext,omitempty"`
	// moverServiceAccount names an existing ServiceAccount for the mover pod instead of the
	// one VolSync creates.
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
	// moverAffinity is the affinity of the mover pod.
	// +optional
	MoverAffinity *corev1.Affinity `json:"moverAffinity,omitempty"`
	// moverVolumes are extra volumes mounted in the mover pod under /mnt/<mountPath>.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=mountPath
	MoverVolumes []MoverVolume `json:"moverVolumes,omitempty"`
}

// MoverVolume is an extra volume for the mover pod.
type MoverVolume struct {
	// mountPath is where the volume is mounted, relative to /mnt.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(p, p == '..' || p == '.')",message="mountPath must not contain . or .. path elements"
	MountPath string `json:"mountPath"`
	// volumeSource is the volume to mount.
	// +required
	VolumeSource MoverVolumeSource `json:"volumeSource"`
}

// MoverVolumeSource is the source of an extra mover volume: exactly one of its fields.
// +kubebuilder:validation:XValidation:rule="(has(self.secret) ? 1 : 0) + (has(self.nfs) ? 1 : 0) + (has(self.persistentVolumeClaim) ? 1 : 0) == 1",message="exactly one of secret, nfs or persistentVolumeClaim must be set"
type MoverVolumeSource struct {
	// secret mounts a Secret.
	// +optional
	Secret *corev1.SecretVolumeSource `json:"secret,omitempty"`
	// nfs mounts an NFS export.
	// +optional
	NFS *corev1.NFSVolumeSource `json:"nfs,omitempty"`
	// persistentVolumeClaim mounts a PVC.
	// +optional
	PersistentVolumeClaim *corev1.PersistentVolumeClaimVolumeSource `json:"persistentVolumeClaim,omitempty"`
}

// CustomCASpec names a certificate authority bundle that the mover trusts, taken from a
// key of a Secret or a ConfigMap in the object's namespace.
// +kubebuilder:validation:XValidation:rule="!(has(self.secretName) && size(self.secretName) > 0 && has(self.configMapName) && size(self.configMapName) > 0)",message="set at most one of secretName and configMapName"
// +kubebuilder:validation:XValidation:rule="!((has(self.secretName) && size(self.secretName) > 0) || (has(self.configMapName) && size(self.configMapName) > 0)) || (has(self.key) && size(self.key) > 0)",message="key is required when secretName or configMapName is set",fieldPath=".key"
type CustomCASpec struct {
	// secretName is a Secret holding the CA bundle.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`
	// configMapName is a ConfigMap holding the CA bundle.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ConfigMapName string `json:"configMapName,omitempty"`
	// key is the key of the Secret or ConfigMap that holds the CA bundle.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// MoverResult is the outcome of a mover run.
// +kubebuilder:validation:Enum=Successful;Failed
type MoverResult string

const (
	// MoverResultSuccessful means the last mover run succeeded.
	MoverResultSuccessful MoverResult = "Successful"
	// MoverResultFailed means the last mover run failed.
	MoverResultFailed MoverResult = "Failed"
)

// MoverStatus reports the result of the most recent mover run.
type MoverStatus struct {
	// result is Successful or Failed.
	// +optional
	Result MoverResult `json:"result,omitempty"`
	// logs is a short summary of the mover's output.
	// +optional
	Logs string `json:"logs,omitempty"`
}

// ExternalSpec hands an object to an external provider; VolSync's own movers ignore it.
type ExternalSpec struct {
	// provider names the external provider, e.g. "example.com/provider".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Provider string `json:"provider,omitempty"`
	// parameters are passed to the provider.
	// +optional
	// +kubebuilder:validation:MaxProperties=128
	Parameters map[string]string `json:"parameters,omitempty"`
}

// ReplicationSourceExternalSpec hands a ReplicationSource to an external provider.
type ReplicationSourceExternalSpec = ExternalSpec

// ReplicationDestinationExternalSpec hands a ReplicationDestination to an external provider.
type ReplicationDestinationExternalSpec = ExternalSpec

// CommonStatus holds the status fields shared by ReplicationSource and ReplicationDestination.
type CommonStatus struct {
	// lastSyncTime is when the most recent successful synchronization finished.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// lastSyncStartTime is when the synchronization in progress started; it is unset between
	// synchronizations.
	// +optional
	LastSyncStartTime *metav1.Time `json:"lastSyncStartTime,omitempty"`
	// lastSyncDuration is how long the most recent successful synchronization took.
	// +optional
	LastSyncDuration *metav1.Duration `json:"lastSyncDuration,omitempty"`
	// nextSyncTime is when the next scheduled synchronization starts (schedule triggers only).
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`
	// lastManualSync is the value of spec.trigger.manual when the most recent synchronization
	// finished.
	// +optional
	LastManualSync string `json:"lastManualSync,omitempty"`
	// manualSyncInProgress is the value of spec.trigger.manual when the synchronization in
	// progress started; it becomes lastManualSync when that synchronization completes, so a
	// manual value set during a synchronization starts another one afterwards.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ManualSyncInProgress string `json:"manualSyncInProgress,omitempty"`
	// latestMoverStatus is the result of the most recent mover run.
	// +optional
	LatestMoverStatus *MoverStatus `json:"latestMoverStatus,omitempty"`
	// conditions hold the Synchronizing condition.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
