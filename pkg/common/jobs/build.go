package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
)

// Fixed paths and names of the controller <-> mover contract.
const (
	DataMountPath   = contract.DataDir
	BlockDevicePath = contract.BlockDevice
	TmpMountPath    = contract.TmpDir
	dataVolume      = "data"
	tmpVolume       = "tempdir"
	moverVolPrefix  = "u-"
	moverVolRoot    = "/mnt/"
	// moverVolHashLen is how many hex digits of the mount path's hash end a moverVolume's
	// volume name, which keeps names of different paths apart after sanitising.
	moverVolHashLen = 8
	// unprivilegedID is the uid, gid and fsGroup of an unprivileged mover.
	unprivilegedID int64 = 65534
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
	EnvPrivileged = contract.EnvPrivileged
	// EnvDebug puts the mover in debug mode.
	EnvDebug = contract.EnvDebug
)

// Data is the volume a mover reads or writes.
type Data struct {
	PVC      *corev1.PersistentVolumeClaim
	ReadOnly bool
}

// ErrBlockUnsupported is returned for a Block data volume given to a mover without block support.
var ErrBlockUnsupported = errors.New("use a Filesystem volume (volumeMode: Filesystem) or a mover that supports Block volumes")

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
	// Direct: the mover mounts the data volume itself (copyMethod Direct), so Runner.Run places
	// a new Job's pod next to the pods using it (an RWO volume attaches to one node).
	Direct bool
	// BlockSupported: the mover image handles a Block data volume (a device at /dev/block).
	// Runner.Run refuses a Block data volume for a mover without it.
	BlockSupported bool
	// Proxy is the manager's proxy environment (ProxyEnv), for movers that talk to the outside.
	Proxy []corev1.EnvVar
	// NodeSelector and Tolerations place the pod. Runner.Run sets them when it creates the Job
	// (Direct co-scheduling, or the users of the first PVC moverVolume); they are not part of
	// the spec hash, so where the pod runs is decided once per Job.
	NodeSelector map[string]string
	Tolerations  []corev1.Toleration
	Debug        bool
	// Decisions are the per-synchronization decisions the pod was built from (Runner.Decisions);
	// they are stored on the Job so a later reconcile reuses them instead of deciding again.
	Decisions map[string]string
	Tuning

	// placeWith is the first PVC moverVolume (CheckMoverVolumes): a mover nothing else places
	// runs next to its users.
	placeWith *corev1.PersistentVolumeClaim
}

// Tuning is what a mover may change of its Job's retries and pod identity.
type Tuning struct {
	// BackoffLimit is how many times Kubernetes retries a failed pod (default
	// DefaultBackoffLimit).
	BackoffLimit *int32
	// Hostname is the pod's host name (default: the pod's name). restic records it in its
	// repository locks: pods of one object sharing it recognise their predecessors' locks.
	Hostname string
	// FailFast are exit codes of the mover container meaning that running the same pod again
	// cannot help (a wrong password): the Job fails at the first such exit (a pod failure
	// policy) instead of retrying its pod BackoffLimit times.
	FailFast []int32
	// GiveUpAfter, when > 0, is how many Jobs of one synchronization may fail fast (FailFast)
	// before the Runner stops replacing them (Outcome.GaveUp): the user must act. A new Job
	// starts when ResumeKey changes.
	GiveUpAfter int
	// ResumeKey identifies the configuration a Job runs with (the object's generation, the
	// versions of the Secrets it reads); stored on the Job (ResumeKeyAnnotation).
	ResumeKey string
}

// Build returns the Job for a Spec: a pure function, table-tested without a client.
func Build(s Spec) *batchv1.Job {
	pod := PodTemplate(s)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	backoff := DefaultBackoffLimit
	if s.BackoffLimit != nil {
		backoff = *s.BackoffLimit
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Owner.GetNamespace(), Labels: maps.Clone(pod.Labels),
			Annotations: map[string]string{SpecHashAnnotation: HashTemplate(&pod)},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(backoff),
			Parallelism:  ptr.To(parallelism(s.Paused)),
			Template:     pod,
		},
	}
	job.Labels[v1alpha1.CleanupLabel] = string(s.Owner.GetUID())
	setDecisions(job, s.Decisions)
	if s.ResumeKey != "" {
		job.Annotations[ResumeKeyAnnotation] = s.ResumeKey
	}
	if len(s.FailFast) > 0 {
		job.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action: batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr.To(s.Container), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn,
				Values: slices.Sorted(slices.Values(s.FailFast)),
			},
		}}}
	}
	return job
}

// PodTemplate returns the mover pod of a Spec, without a restart policy: a Job's pod never
// restarts (Build), a long-running mover's Deployment always does. Everything else (security
// contexts, volumes, the user's pod options, the contract's environment) is the same for both.
func PodTemplate(s Spec) corev1.PodTemplateSpec {
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
	env = append(env, s.Proxy...)
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
		podSC.RunAsUser = ptr.To(unprivilegedID)
		podSC.RunAsGroup = ptr.To(unprivilegedID)
		if s.WritableData {
			podSC.FSGroup = ptr.To(unprivilegedID)
			// Re-group the volume only when its root is not ours yet: on every later sync the
			// kubelet would otherwise walk and chown the whole volume (chown storms on large ones).
			podSC.FSGroupChangePolicy = ptr.To(corev1.FSGroupChangeOnRootMismatch)
		}
	}
	if s.Config != nil && s.Config.MoverSecurityContext != nil {
		podSC = s.Config.MoverSecurityContext.DeepCopy()
		if s.WritableData && podSC.FSGroup != nil && podSC.FSGroupChangePolicy == nil {
			// The same for a user's fsGroup on a volume VolSync writes, unless the user chose a
			// policy: "Always" would also re-group (and re-mode) the replica on every sync.
			podSC.FSGroupChangePolicy = ptr.To(corev1.FSGroupChangeOnRootMismatch)
		}
	}

	volumes := []corev1.Volume{{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
	mounts := []corev1.VolumeMount{{Name: tmpVolume, MountPath: TmpMountPath}}
	var devices []corev1.VolumeDevice
	if s.Data != nil && s.Data.PVC != nil {
		volumes = append(volumes, corev1.Volume{Name: dataVolume, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: s.Data.PVC.Name, ReadOnly: s.Data.ReadOnly},
		}})
		if isBlock(s.Data.PVC) {
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
			ServiceAccountName:            s.ServiceAccount,
			AutomountServiceAccountToken:  ptr.To(false),
			SecurityContext:               podSC,
			Volumes:                       volumes,
			NodeSelector:                  s.NodeSelector,
			Tolerations:                   s.Tolerations,
			TerminationGracePeriodSeconds: ptr.To(int64(10)),
			Hostname:                      s.Hostname,
		},
	}
	if s.Config != nil && s.Config.MoverAffinity != nil {
		pod.Spec.Affinity = s.Config.MoverAffinity.DeepCopy()
	}
	return pod
}

// CheckVolumeMode refuses a Block data volume when the mover cannot read a device, so the user
// reads why in the condition instead of a mover failing obscurely at run time.
func CheckVolumeMode(s Spec) error {
	if s.BlockSupported || s.Data == nil || !isBlock(s.Data.PVC) {
		return nil
	}
	ns := s.Data.PVC.Namespace
	if ns == "" {
		ns = s.Owner.GetNamespace()
	}
	return fmt.Errorf("PVC %s/%s has volumeMode Block; the %s mover supports only Filesystem volumes: %w",
		ns, s.Data.PVC.Name, s.Container, ErrBlockUnsupported)
}

func isBlock(pvc *corev1.PersistentVolumeClaim) bool {
	return pvc != nil && ptr.Deref(pvc.Spec.VolumeMode, corev1.PersistentVolumeFilesystem) == corev1.PersistentVolumeBlock
}

func parallelism(paused bool) int32 {
	if paused {
		return 0
	}
	return 1
}

// moverVolume turns a user's moverVolume into a volume mounted under /mnt.
func moverVolume(mv v1alpha1.MoverVolume) (corev1.Volume, corev1.VolumeMount) {
	name := moverVolumeName(mv.MountPath)
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

// moverVolumeName is the pod volume name of a moverVolume: a DNS-1123 label (the API server
// rejects anything else) made of a readable form of mountPath and a hash of the exact path, so
// paths that read alike ("a/b" and "a-b", "Certs" and "certs") or share a long prefix never
// share a volume. It depends only on mountPath, so it is the same on every reconcile.
func moverVolumeName(mountPath string) string {
	sum := sha256.Sum256([]byte(mountPath))
	suffix := hex.EncodeToString(sum[:])[:moverVolHashLen]
	readable := dnsLabelChars(mountPath)
	if room := validation.DNS1123LabelMaxLength - len(moverVolPrefix) - len(suffix) - 1; len(readable) > room {
		readable = strings.TrimRight(readable[:room], "-")
	}
	if readable == "" {
		return moverVolPrefix + suffix
	}
	return moverVolPrefix + readable + "-" + suffix
}

// dnsLabelChars lower-cases s and turns every run of characters a DNS-1123 label does not
// allow into one '-', trimming them at both ends.
func dnsLabelChars(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// HashTemplate fingerprints a pod template so an outdated Job can be recognised. Placement
// (nodeSelector and tolerations, taken from where the application ran when the Job was
// created) is left out: an application pod that stops or moves mid-sync must not restart the
// transfer. The user's moverAffinity is spec and counts.
func HashTemplate(t *corev1.PodTemplateSpec) string {
	unplaced := *t
	unplaced.Spec.NodeSelector, unplaced.Spec.Tolerations = nil, nil
	return Fingerprint(&unplaced)
}

// Fingerprint is a short hash of a pod template as it is, placement included (a steady mover's
// Deployment follows the application's node).
func Fingerprint(t *corev1.PodTemplateSpec) string {
	data, _ := json.Marshal(t)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// Labels of every mover pod (the Services of a mover select them).
const (
	NameLabel      = "app.kubernetes.io/name"
	ComponentLabel = "app.kubernetes.io/component"
	PartOfLabel    = "app.kubernetes.io/part-of"
	partOf         = "volsync"
)

// PodLabels are the labels that select a mover pod: app its app.kubernetes.io/name (e.g.
// naming.AppName), component e.g. "rsync-mover".
func PodLabels(app, component string) map[string]string {
	return map[string]string{NameLabel: app, ComponentLabel: component, PartOfLabel: partOf}
}
