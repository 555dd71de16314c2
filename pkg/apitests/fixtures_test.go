package apitests

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

var (
	qty     = resource.MustParse("3Gi")
	modes   = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany}
	lbType  = corev1.ServiceTypeLoadBalancer
	blockVM = corev1.PersistentVolumeBlock
	// filesystemVM for rsyncTLS, which rejects Block until its mover supports it.
	filesystemVM = corev1.PersistentVolumeFilesystem
	now          = metav1.NewTime(time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC))
)

func fullTrigger() *v1alpha1.TriggerSpec {
	return &v1alpha1.TriggerSpec{Schedule: ptr("*/15 * * * *"), Manual: "go-1"}
}

func fullSourceVolume() v1alpha1.ReplicationSourceVolumeOptions {
	return v1alpha1.ReplicationSourceVolumeOptions{
		CopyMethod: v1alpha1.CopyMethodSnapshot, Capacity: &qty, StorageClassName: ptr("fast"),
		AccessModes: modes, VolumeSnapshotClassName: ptr("csi-snap"),
	}
}

func fullDestVolume() v1alpha1.ReplicationDestinationVolumeOptions {
	return v1alpha1.ReplicationDestinationVolumeOptions{
		CopyMethod: v1alpha1.CopyMethodSnapshot, Capacity: &qty, StorageClassName: ptr("fast"),
		AccessModes: modes, VolumeSnapshotClassName: ptr("csi-snap"),
		DestinationPVC: ptr("landing"), CleanupTempPVC: true,
	}
}

func fullMoverConfig() v1alpha1.MoverConfig {
	return v1alpha1.MoverConfig{
		MoverSecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000)), FSGroup: ptr(int64(2000))},
		MoverServiceAccount:  ptr("mover-sa"),
		MoverPodLabels:       map[string]string{"team": "storage"},
		MoverResources: &corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
		},
		MoverAffinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}},
			}}},
		}},
		MoverVolumes: []v1alpha1.MoverVolume{
			{MountPath: "certs", VolumeSource: v1alpha1.MoverVolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "certs"}}},
			{MountPath: "share/nfs", VolumeSource: v1alpha1.MoverVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/export"}}},
			{MountPath: "scratch", VolumeSource: v1alpha1.MoverVolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "scratch"}}},
		},
	}
}

func fullCustomCA() v1alpha1.CustomCASpec {
	return v1alpha1.CustomCASpec{SecretName: "ca", Key: "ca.crt"}
}

func fullCustomCAConfigMap() v1alpha1.CustomCASpec {
	return v1alpha1.CustomCASpec{ConfigMapName: "ca", Key: "ca.crt"}
}

func fullRclone(ca v1alpha1.CustomCASpec) v1alpha1.RcloneSpec {
	return v1alpha1.RcloneSpec{
		RcloneConfigSection: ptr("s3"), RcloneDestPath: ptr("bucket/dir"), RcloneConfig: ptr("rclone-secret"),
		CustomCA: ca, MoverConfig: fullMoverConfig(),
	}
}

func fullCache() v1alpha1.ResticCacheSpec {
	return v1alpha1.ResticCacheSpec{CacheCapacity: &qty, CacheStorageClassName: ptr("cache-sc"), CacheAccessModes: modes}
}

func fullCommonStatus() v1alpha1.CommonStatus {
	return v1alpha1.CommonStatus{
		LastSyncTime: &now, LastSyncStartTime: &now, LastSyncDuration: &metav1.Duration{Duration: 90 * time.Second},
		NextSyncTime: &now, LastManualSync: "go-0", ManualSyncInProgress: "go-1",
		LatestMoverStatus: &v1alpha1.MoverStatus{Result: v1alpha1.MoverResultFailed, Logs: "rsync error: some files could not be transferred"},
		Conditions: []metav1.Condition{{
			Type: v1alpha1.ConditionSynchronizing, Status: metav1.ConditionFalse, Reason: v1alpha1.SynchronizingReasonSched,
			Message: "Waiting for next scheduled synchronization", LastTransitionTime: now, ObservedGeneration: 1,
		}},
	}
}

func sourceMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: roundTripNamespace,
		Labels: map[string]string{"app": "db"}, Annotations: map[string]string{v1alpha1.EnableDebugMoverAnnotation: ""}}
}

// fullSources returns one ReplicationSource per method block, every field of each set.
func fullSources() []*v1alpha1.ReplicationSource {
	base := func(name string) *v1alpha1.ReplicationSource {
		return &v1alpha1.ReplicationSource{
			ObjectMeta: sourceMeta(name),
			Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: "data", Trigger: fullTrigger(), Paused: true},
			Status: &v1alpha1.ReplicationSourceStatus{
				CommonStatus: fullCommonStatus(),
				External:     map[string]string{"provider-state": "ok"},
			},
		}
	}
	rsync := base("rs-rsync")
	rsync.Spec.Rsync = &v1alpha1.ReplicationSourceRsyncSpec{
		ReplicationSourceVolumeOptions: fullSourceVolume(), SSHKeys: ptr("keys"), ServiceType: &lbType,
		Address: ptr("dest.example.com"), Port: ptr(int32(2222)), Path: ptr("/ignored"), SSHUser: ptr("root"),
		MoverServiceAccount: ptr("sa"), MoverPodLabels: map[string]string{"a": "b"},
		MoverResources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
	}
	rsync.Status.Rsync = &v1alpha1.ReplicationSourceRsyncStatus{SSHKeys: ptr("volsync-rsync-src-dest-rs-rsync"), Address: ptr("10.0.0.1"), Port: ptr(int32(22))}

	tls := base("rs-rsync-tls")
	tls.Spec.RsyncTLS = &v1alpha1.ReplicationSourceRsyncTLSSpec{
		ReplicationSourceVolumeOptions: fullSourceVolume(), KeySecret: ptr("psk"), Address: ptr("dest.example.com"),
		Port: ptr(int32(8443)), MoverConfig: fullMoverConfig(),
	}
	tls.Status.RsyncTLS = &v1alpha1.ReplicationSourceRsyncTLSStatus{KeySecret: ptr("volsync-rsync-tls-rs-rsync-tls")}

	rclone := base("rs-rclone")
	rclone.Spec.Rclone = &v1alpha1.ReplicationSourceRcloneSpec{ReplicationSourceVolumeOptions: fullSourceVolume(), RcloneSpec: fullRclone(fullCustomCA())}

	restic := base("rs-restic")
	restic.Spec.Restic = &v1alpha1.ReplicationSourceResticSpec{
		ReplicationSourceVolumeOptions: fullSourceVolume(), PruneIntervalDays: ptr(int32(14)), Repository: "restic-repo",
		CustomCA: fullCustomCAConfigMap(),
		Retain: &v1alpha1.ResticRetainPolicy{
			Hourly: ptr(int32(1)), Daily: ptr(int32(2)), Weekly: ptr(int32(3)), Monthly: ptr(int32(4)), Yearly: ptr(int32(5)),
			Within: ptr("3d12h"), Last: ptr(intstr.FromInt32(6)),
		},
		ResticCacheSpec: fullCache(), Unlock: "unlock-1", MoverConfig: fullMoverConfig(),
	}
	restic.Status.Restic = &v1alpha1.ReplicationSourceResticStatus{LastPruned: &now, LastUnlocked: "unlock-0"}

	syncthing := base("rs-syncthing")
	syncthing.Spec.Trigger = nil
	syncthing.Spec.Syncthing = &v1alpha1.ReplicationSourceSyncthingSpec{
		Peers:       []v1alpha1.SyncthingPeer{{Address: "tcp://192.0.2.10:22000", ID: "ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX", Introducer: true}},
		ServiceType: &lbType, ConfigCapacity: &qty, ConfigStorageClassName: ptr("cfg-sc"), ConfigAccessModes: modes,
		MoverConfig: fullMoverConfig(),
	}
	syncthing.Status.Syncthing = &v1alpha1.ReplicationSourceSyncthingStatus{
		Peers: []v1alpha1.SyncthingPeerStatus{{Address: "tcp://192.0.2.10:22000", ID: "ABCDEFG", Connected: true, IntroducedBy: "HIJKLMN", Name: "peer"}},
		ID:    "OPQRSTU", Address: "tcp://10.0.0.2:22000",
	}

	// The second CA form of each mover that has customCA (the two forms exclude each other).
	rcloneCM := base("rs-rclone-configmap-ca")
	rcloneCM.Spec.Rclone = &v1alpha1.ReplicationSourceRcloneSpec{ReplicationSourceVolumeOptions: fullSourceVolume(), RcloneSpec: fullRclone(fullCustomCAConfigMap())}
	resticSecret := base("rs-restic-secret-ca")
	resticSecret.Spec.Restic = &v1alpha1.ReplicationSourceResticSpec{Repository: "restic-repo", CustomCA: fullCustomCA()}

	external := base("rs-external")
	external.Spec.External = &v1alpha1.ReplicationSourceExternalSpec{Provider: "example.com/provider", Parameters: map[string]string{"k": "v"}}
	return []*v1alpha1.ReplicationSource{rsync, tls, rclone, restic, syncthing, rcloneCM, resticSecret, external}
}

// fullDestinations returns one ReplicationDestination per method block, every field of each set.
func fullDestinations() []*v1alpha1.ReplicationDestination {
	base := func(name string) *v1alpha1.ReplicationDestination {
		return &v1alpha1.ReplicationDestination{
			ObjectMeta: sourceMeta(name),
			Spec:       v1alpha1.ReplicationDestinationSpec{Trigger: fullTrigger(), Paused: true},
			Status: &v1alpha1.ReplicationDestinationStatus{
				CommonStatus: fullCommonStatus(),
				LatestImage:  &corev1.TypedLocalObjectReference{APIGroup: ptr("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "landing-20261121103000"},
				External:     map[string]string{"provider-state": "ok"},
			},
		}
	}
	rsync := base("rd-rsync")
	rsync.Spec.Rsync = &v1alpha1.ReplicationDestinationRsyncSpec{
		ReplicationDestinationVolumeOptions: fullDestVolume(), VolumeMode: &blockVM, SSHKeys: ptr("keys"),
		ServiceType: &lbType, ServiceAnnotations: &map[string]string{"lb": "internal"}, Address: ptr("10.1.1.1"),
		Port: ptr(int32(2222)), Path: ptr("/ignored"), SSHUser: ptr("root"),
		MoverServiceAccount: ptr("sa"), MoverPodLabels: map[string]string{"a": "b"},
		MoverResources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
	}
	rsync.Status.Rsync = &v1alpha1.ReplicationDestinationRsyncStatus{SSHKeys: ptr("volsync-rsync-dst-src-rd-rsync"), Address: ptr("10.0.0.3"), Port: ptr(int32(22))}

	tls := base("rd-rsync-tls")
	tls.Spec.RsyncTLS = &v1alpha1.ReplicationDestinationRsyncTLSSpec{
		ReplicationDestinationVolumeOptions: fullDestVolume(), VolumeMode: &filesystemVM, KeySecret: ptr("psk"),
		ServiceType: &lbType, ServiceAnnotations: &map[string]string{"lb": "internal"}, MoverConfig: fullMoverConfig(),
	}
	tls.Status.RsyncTLS = &v1alpha1.ReplicationDestinationRsyncTLSStatus{KeySecret: ptr("volsync-rsync-tls-rd-rsync-tls"), Address: ptr("10.0.0.4"), Port: ptr(int32(8000))}

	rclone := base("rd-rclone")
	rclone.Spec.Rclone = &v1alpha1.ReplicationDestinationRcloneSpec{ReplicationDestinationVolumeOptions: fullDestVolume(), RcloneSpec: fullRclone(fullCustomCAConfigMap())}

	restic := base("rd-restic")
	restic.Spec.Restic = &v1alpha1.ReplicationDestinationResticSpec{
		ReplicationDestinationVolumeOptions: fullDestVolume(), Repository: "restic-repo", CustomCA: fullCustomCA(),
		ResticCacheSpec: fullCache(), CleanupCachePVC: true, Previous: ptr(int32(2)),
		RestoreAsOf: ptr("2026-11-20T23:59:59Z"), EnableFileDeletion: true, MoverConfig: fullMoverConfig(),
	}

	rcloneSecret := base("rd-rclone-secret-ca")
	rcloneSecret.Spec.Rclone = &v1alpha1.ReplicationDestinationRcloneSpec{ReplicationDestinationVolumeOptions: fullDestVolume(), RcloneSpec: fullRclone(fullCustomCA())}
	resticCM := base("rd-restic-configmap-ca")
	resticCM.Spec.Restic = &v1alpha1.ReplicationDestinationResticSpec{
		ReplicationDestinationVolumeOptions: fullDestVolume(), Repository: "restic-repo", CustomCA: fullCustomCAConfigMap(),
	}

	external := base("rd-external")
	external.Spec.External = &v1alpha1.ReplicationDestinationExternalSpec{Provider: "example.com/provider", Parameters: map[string]string{"k": "v"}}
	return []*v1alpha1.ReplicationDestination{rsync, tls, rclone, restic, rcloneSecret, resticCM, external}
}
