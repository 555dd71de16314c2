package lifecycle

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientretry "k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The StorageClass and VolumeSnapshotClass every namespace of the tests may use.
const (
	StorageClass  = "standard"
	SnapshotClass = "snapclass"
)

// SuccessJSON is the termination message of a mover pod that transferred 7 files.
const SuccessJSON = `{"outcome":"Successful","bytesSent":4096,"filesTransferred":7,"durationSeconds":2.5}`

var (
	nsCounter atomic.Int32
	// notDNSLabel matches what a namespace name cannot hold.
	notDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)
)

// Namespace creates a namespace of the test's own (and the shared storage classes), and waits
// until the controller's cache has it (the controller reads a namespace's privileged-movers
// annotation from there).
func (h *Harness) Namespace(t *testing.T, annotations map[string]string) string {
	t.Helper()
	ctx := Context(t)
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), notDNSLabel.ReplaceAllString(strings.ToLower(t.Name()), "-"))
	name = strings.TrimRight(name[:min(len(name), 60)], "-")
	Must(t, h.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}}))
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: StorageClass}, Provisioner: "test.csi"}
	if err := h.Client.Create(ctx, sc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	vsc := &snapv1.VolumeSnapshotClass{ObjectMeta: metav1.ObjectMeta{Name: SnapshotClass}, Driver: "test.csi", DeletionPolicy: snapv1.VolumeSnapshotContentDelete}
	if err := h.Client.Create(ctx, vsc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	Eventually(t, "namespace "+name+" in the controller's cache", func() error {
		return h.Controller.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
	})
	if h.Prepare != nil {
		h.Prepare(t, h.Client, name)
	}
	return name
}

// SourcePVC creates a bound PVC as a provisioner would leave it.
func (h *Harness) SourcePVC(t *testing.T, ns, name string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	t.Helper()
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      modes,
			StorageClassName: ptr.To(StorageClass),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	Must(t, h.Client.Create(Context(t), pvc))
	h.Bind(t, pvc)
	return pvc
}

// Bind plays the PV controller: the PVC becomes Bound with its requested size.
func (h *Harness) Bind(t *testing.T, pvc *corev1.PersistentVolumeClaim) {
	t.Helper()
	patch := client.MergeFrom(pvc.DeepCopy())
	pvc.Status.Phase = corev1.ClaimBound
	pvc.Status.AccessModes = pvc.Spec.AccessModes
	pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]}
	Must(t, h.Client.Status().Patch(Context(t), pvc, patch))
}

// DestinationSnapshot is the name of the image a destination takes of its PVC now (on the
// controller's clock).
func (h *Harness) DestinationSnapshot(pvc string) string {
	return pvc + "-" + h.Clock.Now().UTC().Format("20060102150405")
}

// ReadySnapshot plays the snapshot controller: the VolumeSnapshot, once it exists, is bound
// and ready to use.
func (h *Harness) ReadySnapshot(t *testing.T, ns, name string) {
	t.Helper()
	ctx := Context(t)
	snap := &snapv1.VolumeSnapshot{}
	size := resource.MustParse("1Gi")
	Eventually(t, "VolumeSnapshot "+name+" ready", func() error {
		if err := h.Get(ctx, ns, name, snap); err != nil {
			return err
		}
		snap.Status = &snapv1.VolumeSnapshotStatus{
			BoundVolumeSnapshotContentName: ptr.To("content-" + name), ReadyToUse: ptr.To(true), RestoreSize: &size,
			CreationTime: ptr.To(metav1.Now()),
		}
		return h.Client.Status().Update(ctx, snap)
	})
}

// RunningApp creates a Node labelled kubernetes.io/hostname=host-<ns> and a running
// application pod on it that uses claim, and waits until the controller sees it.
func (h *Harness) RunningApp(t *testing.T, ns, claim string, tolerations ...corev1.Toleration) {
	t.Helper()
	ctx := Context(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + ns, Labels: map[string]string{"kubernetes.io/hostname": "host-" + ns}}}
	Must(t, h.Client.Create(ctx, node))
	app := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName:    node.Name,
			Containers:  []corev1.Container{{Name: "app", Image: "app"}},
			Tolerations: tolerations,
			Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}
	Must(t, h.Client.Create(ctx, app))
	app.Status.Phase = corev1.PodRunning
	Must(t, h.Client.Status().Update(ctx, app))
	// In a cluster the application runs long before its replication is made; here the
	// controller's pod cache must have caught up before the test creates the object.
	Eventually(t, "application pod in the controller's pod cache", func() error {
		seen := &corev1.Pod{}
		if err := h.Controller.Get(ctx, client.ObjectKeyFromObject(app), seen); err != nil {
			return err
		}
		if seen.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %q", seen.Status.Phase)
		}
		return nil
	})
}

// FindJob waits for the mover Job and returns it as it is.
func (h *Harness) FindJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{}
	Eventually(t, "Job "+name, func() error { return h.Get(Context(t), ns, name, job) })
	return job
}

// WaitJob waits for the mover Job and starts it (StartJob).
func (h *Harness) WaitJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	job := h.FindJob(t, ns, name)
	h.StartJob(t, job)
	return job
}

// WaitNewJob waits for a Job of that name that has not finished yet, and starts it.
func (h *Harness) WaitNewJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{}
	Eventually(t, "new Job "+name, func() error {
		if err := h.Get(Context(t), ns, name, job); err != nil {
			return err
		}
		if len(job.Status.Conditions) > 0 {
			return errors.New("still the old Job")
		}
		return nil
	})
	h.StartJob(t, job)
	return job
}

// UpdateJobStatus reads job, lets change edit it (false: nothing to write) and writes its
// status, again on a conflict (the controller annotates its Jobs).
func (h *Harness) UpdateJobStatus(t *testing.T, job *batchv1.Job, change func() bool) {
	t.Helper()
	ctx := Context(t)
	Must(t, clientretry.RetryOnConflict(clientretry.DefaultRetry, func() error {
		if err := h.Get(ctx, job.Namespace, job.Name, job); err != nil {
			return err
		}
		if !change() {
			return nil
		}
		return h.Client.Status().Update(ctx, job)
	}))
}

// StartJob plays the Job controller creating the pod of a new Job: status.active becomes the
// Job's parallelism (0 when paused).
func (h *Harness) StartJob(t *testing.T, job *batchv1.Job) {
	t.Helper()
	h.UpdateJobStatus(t, job, func() bool {
		p := ptr.Deref(job.Spec.Parallelism, 1)
		if len(job.Status.Conditions) > 0 || job.Status.Active == p {
			return false
		}
		job.Status.Active, job.Status.Ready = p, ptr.To(p)
		return true
	})
}

// setStartTime sets status.startTime the way the Job controller does when it starts a Job.
func setStartTime(job *batchv1.Job) metav1.Time {
	now := metav1.Now()
	if job.Status.StartTime == nil {
		job.Status.StartTime = &now
	}
	return now
}

// MoverPod plays the Job controller and kubelet: the n-th pod of the Job, ended in phase with
// the given termination message.
func (h *Harness) MoverPod(t *testing.T, job *batchv1.Job, n int, phase corev1.PodPhase, message string) {
	t.Helper()
	ctx := Context(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%s-%d", job.Name, job.UID[:8], n), Namespace: job.Namespace,
			Labels: map[string]string{batchv1.JobNameLabel: job.Name, batchv1.ControllerUidLabel: string(job.UID)},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	Must(t, h.Client.Create(ctx, pod))
	exit := int32(0)
	if phase == corev1.PodFailed {
		exit = 1
	}
	c := pod.Spec.Containers[0]
	pod.Status = corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
		Name: c.Name, Image: c.Image, ImageID: c.Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: message}},
	}}}
	Must(t, h.Client.Status().Update(ctx, pod))
}

// FinishJob marks a Job as finished the way the Job controller does.
func (h *Harness) FinishJob(t *testing.T, job *batchv1.Job, succeeded bool, failedPods int32) {
	t.Helper()
	h.UpdateJobStatus(t, job, func() bool {
		setFinished(job, succeeded, failedPods)
		return true
	})
}

func setFinished(job *batchv1.Job, succeeded bool, failedPods int32) {
	now := setStartTime(job)
	job.Status.Active, job.Status.Ready = 0, ptr.To[int32](0)
	job.Status.Failed = failedPods
	if succeeded {
		job.Status.Succeeded = 1
		job.Status.CompletionTime = &now
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
	} else {
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: batchv1.JobReasonBackoffLimitExceeded},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: batchv1.JobReasonBackoffLimitExceeded},
		}
	}
}

// FailPod records one more failed pod (failed in all) in a running Job's status.
func (h *Harness) FailPod(t *testing.T, job *batchv1.Job, failed int32) {
	t.Helper()
	h.UpdateJobStatus(t, job, func() bool {
		setStartTime(job)
		job.Status.Failed = failed
		return true
	})
}

// Succeed completes a mover Job with a successful pod.
func (h *Harness) Succeed(t *testing.T, ns, name string) {
	t.Helper()
	job := h.WaitJob(t, ns, name)
	h.MoverPod(t, job, 0, corev1.PodSucceeded, SuccessJSON)
	h.FinishJob(t, job, true, 0)
}

// WaitGone waits until ns/name of obj's kind no longer exists.
func (h *Harness) WaitGone(t *testing.T, ns, name string, obj client.Object) {
	t.Helper()
	Eventually(t, fmt.Sprintf("%T %s removed", obj, name), func() error {
		if err := h.Get(Context(t), ns, name, obj); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%w)", err)
		}
		return nil
	})
}

// Absent fails the test when ns/name of obj's kind exists.
func (h *Harness) Absent(t *testing.T, ns, name string, obj client.Object, why string) {
	t.Helper()
	if err := h.Get(Context(t), ns, name, obj); !apierrors.IsNotFound(err) {
		t.Fatalf("%T %s: %v, want none: %s", obj, name, err, why)
	}
}
