package rsynctls

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	dto "github.com/prometheus/client_model/go"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientretry "k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

const (
	// waitTimeout bounds every poll of a test.
	waitTimeout  = 30 * time.Second
	pollEvery    = 100 * time.Millisecond
	storageClass = "standard"
	snapClass    = "snapclass"
)

var nsCounter atomic.Int32

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newNamespace creates a namespace of the test's own (and the shared storage classes).
func newNamespace(t *testing.T, annotations map[string]string) string {
	t.Helper()
	ctx := ctxT(t)
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	if len(name) > 60 {
		name = strings.TrimRight(name[:60], "-")
	}
	must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}}))
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: storageClass}, Provisioner: "test.csi"}
	if err := k8s.Create(ctx, sc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	vsc := &snapv1.VolumeSnapshotClass{ObjectMeta: metav1.ObjectMeta{Name: snapClass}, Driver: "test.csi", DeletionPolicy: snapv1.VolumeSnapshotContentDelete}
	if err := k8s.Create(ctx, vsc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return name
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls f until it returns nil or the deadline passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(pollEvery)
	}
	t.Fatalf("timed out waiting for %s: %v", what, err)
}

func get(ctx context.Context, ns, name string, obj client.Object) error {
	return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}

// sourcePVC creates a bound PVC as a provisioner would leave it.
func sourcePVC(t *testing.T, ns, name string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	t.Helper()
	ctx := ctxT(t)
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      modes,
			StorageClassName: ptr.To(storageClass),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	must(t, k8s.Create(ctx, pvc))
	bind(t, pvc)
	return pvc
}

// bind plays the PV controller: the PVC becomes Bound with its requested size.
func bind(t *testing.T, pvc *corev1.PersistentVolumeClaim) {
	t.Helper()
	patch := client.MergeFrom(pvc.DeepCopy())
	pvc.Status.Phase = corev1.ClaimBound
	pvc.Status.AccessModes = pvc.Spec.AccessModes
	pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]}
	must(t, k8s.Status().Patch(ctxT(t), pvc, patch))
}

// readySnapshot plays the snapshot controller: bound and ready to use.
func readySnapshot(t *testing.T, ns, name string) {
	t.Helper()
	ctx := ctxT(t)
	snap := &snapv1.VolumeSnapshot{}
	size := resource.MustParse("1Gi")
	eventually(t, "VolumeSnapshot "+name+" ready", func() error {
		if err := get(ctx, ns, name, snap); err != nil {
			return err
		}
		snap.Status = &snapv1.VolumeSnapshotStatus{
			BoundVolumeSnapshotContentName: ptr.To("content-" + name), ReadyToUse: ptr.To(true), RestoreSize: &size,
			CreationTime: ptr.To(metav1.Now()),
		}
		return k8s.Status().Update(ctx, snap)
	})
}

// findJob waits for the mover Job and returns it as it is.
func findJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{}
	eventually(t, "Job "+name, func() error { return get(ctxT(t), ns, name, job) })
	return job
}

// waitJob waits for the mover Job and starts it (see startJob).
func waitJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	job := findJob(t, ns, name)
	startJob(t, job)
	return job
}

// updateJobStatus reads job, lets change edit it (false: nothing to write) and writes its
// status, again on a conflict (the controller annotates its Jobs).
func updateJobStatus(t *testing.T, job *batchv1.Job, change func() bool) {
	t.Helper()
	ctx := ctxT(t)
	must(t, clientretry.RetryOnConflict(clientretry.DefaultRetry, func() error {
		if err := get(ctx, job.Namespace, job.Name, job); err != nil {
			return err
		}
		if !change() {
			return nil
		}
		return k8s.Status().Update(ctx, job)
	}))
}

// startJob plays the Job controller creating the pod of a new Job: status.active becomes the
// Job's parallelism (0 when paused).
func startJob(t *testing.T, job *batchv1.Job) {
	t.Helper()
	updateJobStatus(t, job, func() bool {
		p := ptr.Deref(job.Spec.Parallelism, 1)
		if len(job.Status.Conditions) > 0 || job.Status.Active == p {
			return false
		}
		job.Status.Active = p
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

// moverPod plays the Job controller and kubelet: a pod of the Job that ended in phase with
// the given termination message.
func moverPod(t *testing.T, job *batchv1.Job, n int, phase corev1.PodPhase, message string) {
	t.Helper()
	ctx := ctxT(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%s-%d", job.Name, job.UID[:8], n), Namespace: job.Namespace,
			Labels: map[string]string{batchv1.JobNameLabel: job.Name},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	must(t, k8s.Create(ctx, pod))
	exit := int32(0)
	if phase == corev1.PodFailed {
		exit = 1
	}
	pod.Status = corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
		Name: containerName, Image: testImage, ImageID: testImage,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: message}},
	}}}
	must(t, k8s.Status().Update(ctx, pod))
}

// finishJob marks a Job as finished the way the Job controller does.
func finishJob(t *testing.T, job *batchv1.Job, succeeded bool, failedPods int32) {
	t.Helper()
	updateJobStatus(t, job, func() bool {
		setFinished(job, succeeded, failedPods)
		return true
	})
}

func setFinished(job *batchv1.Job, succeeded bool, failedPods int32) {
	now := setStartTime(job)
	job.Status.Active = 0
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

// failPod records one failed pod in a running Job's status.
func failPod(t *testing.T, job *batchv1.Job, failed int32) {
	t.Helper()
	updateJobStatus(t, job, func() bool {
		setStartTime(job)
		job.Status.Failed = failed
		return true
	})
}

const successJSON = `{"outcome":"Successful","bytesSent":4096,"filesTransferred":7,"durationSeconds":2.5}`

// succeed completes a mover Job with a successful pod.
func succeed(t *testing.T, ns, name string) {
	t.Helper()
	job := waitJob(t, ns, name)
	moverPod(t, job, 0, corev1.PodSucceeded, successJSON)
	finishJob(t, job, true, 0)
}

// events returns the notes of the events regarding an object, by reason.
func eventsFor(t *testing.T, ns, name string) map[string][]string {
	t.Helper()
	list := &eventsv1.EventList{}
	must(t, k8s.List(ctxT(t), list, client.InNamespace(ns)))
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

func waitEvent(t *testing.T, ns, name, reason, fragment string) {
	t.Helper()
	eventually(t, "event "+reason+" on "+name, func() error {
		for _, note := range eventsFor(t, ns, name)[reason] {
			if strings.Contains(note, fragment) {
				return nil
			}
		}
		return fmt.Errorf("no %s event with %q yet: %v", reason, fragment, eventsFor(t, ns, name))
	})
}

// poke makes the controller reconcile an object now (its annotations changed).
func poke(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := ctxT(t)
	must(t, get(ctx, obj.GetNamespace(), obj.GetName(), obj))
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a["test.volsync/poke"] = time.Now().Format(time.RFC3339Nano)
	obj.SetAnnotations(a)
	must(t, k8s.Patch(ctx, obj, patch))
}

func condition(st *v1alpha1.CommonStatus) *metav1.Condition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == v1alpha1.ConditionSynchronizing {
			return &st.Conditions[i]
		}
	}
	return nil
}

// gauge reads a metric series of an object from the test registry (-1 when absent).
func metricValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := registry.Gather()
	must(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			return value(m)
		}
	}
	return -1
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetSummary() != nil:
		return float64(m.GetSummary().GetSampleCount())
	}
	return -1
}

func series(name, ns, role string) map[string]string {
	return map[string]string{"obj_name": name, "obj_namespace": ns, "role": role, "method": Name}
}
