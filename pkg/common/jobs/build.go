package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/affinity"
)

// Fixed paths and names of the controller <-> mover contract.
const (
	DataMountPath   = "/data"
	BlockDevicePath = "/dev/block"
	TmpMountPath    = "/tmp"
	dataVolume      = "data"
	tmpVolume       = "tempdir"
	moverVolPrefix  = "u-"
	moverVolRoot    = "/mnt/"
	// DefaultBackoffLimit is how many times Kubernetes retries a failed mover pod (with its
	// own exponential delay, 10 s doubling to 6 min) before the Job fails.
	DefaultBackoffLimit int32 = 4
	// SpecHashAnnotation holds a hash of the desired pod template; a Job whose template is
	// outdated (the user changed the spec mid-sync) is replaced.
	SpecHashAnnotation = "volsync.backube/spec-hash"
	// FailuresReportedAnnotation counts the pod failures of a Job already reported.
	FailuresReportedAnnotation = "volsync.backube/failures-reported"
	// LastFailureAnnotation holds the reason of the Job's last reported pod failure, so the
	// error stays in the condition while Kubernetes retries (without listing pods again).
	LastFailureAnnotation = "volsync.backube/last-failure"
	// JobFailureReportedAnnotation marks a failed Job whose failure was reported.
	JobFailureReportedAnnotation = "volsync.backube/failure-reported"
	// EnvPrivileged tells the mover it may keep ownership (runs as root).
	EnvPrivileged = "PRIVILEGED_MOVER"
	// EnvDebug puts the mover in debug mode.
	EnvDebug = "DEBUG_MOVER"
)

// Data is the volume a mover reads or writes.
type Data struct {
	PVC      *corev1.PersistentVolumeClaim
	ReadOnly bool
}

// Spec describes a mover Job.
type Spec struct {
	Name      string
	Owner     client.Object
	Container string
	Image     string
	Command   []string
	Args      []string
	Env       []corev1.EnvVar
	// ServiceAccount the pod runs as.
	ServiceAccount string
	Paused         bool
	// Privileged runs the mover as root with PrivilegedCaps added (the namespace allows it).
	Privileged     bool
	PrivilegedCaps []corev1.Capability
	Data           *Data
	// WritableData gives an unprivileged mover write access to its data volume through the
	// pod's fsGroup. Only for volumes VolSync writes (destinations): the kubelet changes the
	// group and mode of every file on the volume, which must never happen to a user's source.
	WritableData bool
	Volumes      []corev1.Volume
	Mounts       []corev1.VolumeMount
	// Config holds the user's mover pod options (may be nil).
	Config *v1alpha1.MoverConfig
	// Labels are added to the pod (and the Job).
	Labels map[string]string
	// NodeSelector and Tolerations place the pod (RWO Direct co-scheduling).
	NodeSelector map[string]string
	Tolerations  []corev1.Toleration
	BackoffLimit *int32
	Debug        bool
}

// Build returns the Job for a Spec: a pure function, table-tested without a client.
func Build(s Spec) *batchv1.Job {
	labels := map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}
	podLabels := maps.Clone(labels)
	maps.Copy(podLabels, s.Labels)
	if s.Config != nil {
		for k, v := range s.Config.MoverPodLabels {
			if _, reserved := podLabels[k]; !reserved {
				podLabels[k] = v
			}
		}
	}

	env := append([]corev1.EnvVar{}, s.Env...)
	privileged := "0"
	if s.Privileged {
		privileged = "1"
	}
	env = append(env, corev1.EnvVar{Name: EnvPrivileged, Value: privileged})
	if s.Debug {
		env = append(env, corev1.EnvVar{Name: EnvDebug, Value: "1"})
	}

	sc := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Privileged:               ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	podSC := &corev1.PodSecurityContext{}
	if s.Privileged {
		sc.RunAsUser = ptr.To(int64(0))
		sc.RunAsNonRoot = ptr.To(false)
		sc.Capabilities.Add = append([]corev1.Capability{}, s.PrivilegedCaps...)
	} else {
		// Unprivileged by default: a fixed non-root user unless the user's moverSecurityContext says otherwise.
		podSC.RunAsNonRoot = ptr.To(true)
		podSC.RunAsUser = ptr.To(int64(65534))
		podSC.RunAsGroup = ptr.To(int64(65534))
		if s.WritableData {
			podSC.FSGroup = ptr.To(int64(65534))
		}
	}
	if s.Config != nil && s.Config.MoverSecurityContext != nil {
		podSC = s.Config.MoverSecurityContext.DeepCopy()
	}

	volumes := []corev1.Volume{{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
	mounts := []corev1.VolumeMount{{Name: tmpVolume, MountPath: TmpMountPath}}
	var devices []corev1.VolumeDevice
	if s.Data != nil && s.Data.PVC != nil {
		volumes = append(volumes, corev1.Volume{Name: dataVolume, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: s.Data.PVC.Name, ReadOnly: s.Data.ReadOnly},
		}})
		if mode := s.Data.PVC.Spec.VolumeMode; mode != nil && *mode == corev1.PersistentVolumeBlock {
			devices = append(devices, corev1.VolumeDevice{Name: dataVolume, DevicePath: BlockDevicePath})
		} else {
			mounts = append(mounts, corev1.VolumeMount{Name: dataVolume, MountPath: DataMountPath, ReadOnly: s.Data.ReadOnly})
		}
	}
	volumes = append(volumes, s.Volumes...)
	mounts = append(mounts, s.Mounts...)
	if s.Config != nil {
		for _, mv := range s.Config.MoverVolumes {
			v, m := moverVolume(mv)
			volumes = append(volumes, v)
			mounts = append(mounts, m)
		}
	}

	container := corev1.Container{
		Name: s.Container, Image: s.Image, Command: s.Command, Args: s.Args, Env: env,
		VolumeMounts: mounts, VolumeDevices: devices, SecurityContext: sc,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if s.Config != nil && s.Config.MoverResources != nil {
		container.Resources = *s.Config.MoverResources.DeepCopy()
	}

	pod := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{container},
			RestartPolicy:                 corev1.RestartPolicyNever,
			ServiceAccountName:            s.ServiceAccount,
			AutomountServiceAccountToken:  ptr.To(false),
			SecurityContext:               podSC,
			Volumes:                       volumes,
			NodeSelector:                  s.NodeSelector,
			Tolerations:                   s.Tolerations,
			TerminationGracePeriodSeconds: ptr.To(int64(10)),
		},
	}
	if s.Config != nil && s.Config.MoverAffinity != nil {
		pod.Spec.Affinity = s.Config.MoverAffinity.DeepCopy()
	}

	backoff := DefaultBackoffLimit
	if s.BackoffLimit != nil {
		backoff = *s.BackoffLimit
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Owner.GetNamespace(), Labels: maps.Clone(podLabels),
			Annotations: map[string]string{SpecHashAnnotation: hashTemplate(&pod)},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(backoff),
			Parallelism:  ptr.To(parallelism(s.Paused)),
			Template:     pod,
		},
	}
	job.Labels[v1alpha1.CleanupLabel] = string(s.Owner.GetUID())
	return job
}

func parallelism(paused bool) int32 {
	if paused {
		return 0
	}
	return 1
}

// moverVolume turns a user's moverVolume into a volume mounted under /mnt.
func moverVolume(mv v1alpha1.MoverVolume) (corev1.Volume, corev1.VolumeMount) {
	name := moverVolPrefix + strings.ReplaceAll(mv.MountPath, "/", "-")
	if len(name) > 63 {
		name = name[:63]
	}
	src := corev1.VolumeSource{}
	readOnly := false
	switch {
	case mv.VolumeSource.Secret != nil:
		src.Secret = mv.VolumeSource.Secret.DeepCopy()
		readOnly = true
	case mv.VolumeSource.NFS != nil:
		src.NFS = mv.VolumeSource.NFS.DeepCopy()
		readOnly = src.NFS.ReadOnly
	case mv.VolumeSource.PersistentVolumeClaim != nil:
		src.PersistentVolumeClaim = mv.VolumeSource.PersistentVolumeClaim.DeepCopy()
		readOnly = src.PersistentVolumeClaim.ReadOnly
	}
	return corev1.Volume{Name: name, VolumeSource: src},
		corev1.VolumeMount{Name: name, MountPath: moverVolRoot + mv.MountPath, ReadOnly: readOnly}
}

// hashTemplate fingerprints a pod template so an outdated Job can be recognised.
func hashTemplate(t *corev1.PodTemplateSpec) string {
	data, _ := json.Marshal(t)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// CoSchedule pins the mover next to the pods that use its data volume when it mounts the
// volume itself (copyMethod Direct) and the volume cannot be shared across nodes.
func (s *Spec) CoSchedule(ctx context.Context, r client.Reader) error {
	if s.Data == nil || s.Data.PVC == nil {
		return nil
	}
	return s.CoScheduleWith(ctx, r, s.Data.PVC)
}

// CoScheduleWith pins the mover next to the pods that use pvc, unless something already placed
// it (the reference does this for the first PVC moverVolume).
func (s *Spec) CoScheduleWith(ctx context.Context, r client.Reader, pvc *corev1.PersistentVolumeClaim) error {
	if pvc == nil || len(s.NodeSelector) > 0 || len(s.Tolerations) > 0 {
		return nil
	}
	p, err := affinity.ForVolume(ctx, r, pvc)
	if err != nil || p == nil {
		return err
	}
	s.NodeSelector, s.Tolerations = p.NodeSelector, p.Tolerations
	return nil
}
