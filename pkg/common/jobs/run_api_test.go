package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/volsync-go/volsync/pkg/common/affinity"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/testutil/cachedclient"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// lingerFinalizer keeps a deleted Job around, as a third-party finalizer would.
const lingerFinalizer = "test.volsync.backube/linger"

// pollInterval is how often a test looks again for something the API server does.
const pollInterval = 50 * time.Millisecond

// podListCounter counts the Pod Lists made through it (placement lists the volume's users).
type podListCounter struct {
	client.Reader
	lists atomic.Int32
}

func (c *podListCounter) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*corev1.PodList); ok {
		c.lists.Add(1)
	}
	return c.Reader.List(ctx, list, opts...)
}

// apiFixture is one test's namespace, owner and Runner against the real API server.
type apiFixture struct {
	t      *testing.T
	ctx    context.Context
	ns     string
	owner  client.Object
	clock  *clocktesting.FakeClock
	reader *podListCounter
	runner Runner
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	ctx := testenv.Context(t, testTimeout)
	ns := cluster.Namespace(ctx, t, "jobs")
	f := &apiFixture{t: t, ctx: ctx, ns: ns, owner: cluster.StandInOwner(ctx, t, ns, "db"),
		clock: clocktesting.NewFakeClock(time.Now()), reader: &podListCounter{Reader: cluster.Client}}
	f.runner = Runner{Client: cluster.Client, APIReader: f.reader, Events: events.For(nil, nil), Clock: f.clock,
		successors: &handovers{}}
	return f
}

func (f *apiFixture) spec() Spec {
	return Spec{Name: "volsync-test-db", Owner: f.owner, Container: "mover", Image: "mover:1"}
}

func (f *apiFixture) run(s Spec) Outcome {
	f.t.Helper()
	o, err := f.runner.Run(f.ctx, s)
	if err != nil {
		f.t.Fatalf("Run: %v", err)
	}
	return o
}

func (f *apiFixture) job(name string) *batchv1.Job {
	f.t.Helper()
	job := &batchv1.Job{}
	if err := cluster.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, job); err != nil {
		f.t.Fatalf("reading Job %s: %v", name, err)
	}
	return job
}

// update changes a Job (or its status) and writes it back, retrying on conflicts.
func (f *apiFixture) update(name string, status bool, change func(*batchv1.Job)) {
	f.t.Helper()
	f.eventually("updating Job "+name, func() error {
		job := f.job(name)
		change(job)
		if status {
			return cluster.Client.Status().Update(f.ctx, job)
		}
		return cluster.Client.Update(f.ctx, job)
	})
}

func (f *apiFixture) eventually(what string, try func() error) {
	f.t.Helper()
	var err error
	for {
		if err = try(); err == nil {
			return
		}
		select {
		case <-f.ctx.Done():
			f.t.Fatalf("%s: %v", what, err)
		case <-time.After(pollInterval):
		}
	}
}

// linger adds a finalizer to a Job so that deleting it leaves it in place.
func (f *apiFixture) linger(name string) {
	f.t.Helper()
	f.update(name, false, func(j *batchv1.Job) { controllerutil.AddFinalizer(j, lingerFinalizer) })
}

// release removes the finalizer and waits until the Job is gone.
func (f *apiFixture) release(name string) {
	f.t.Helper()
	f.update(name, false, func(j *batchv1.Job) { controllerutil.RemoveFinalizer(j, lingerFinalizer) })
	f.eventually("Job "+name+" removed", func() error {
		err := cluster.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, &batchv1.Job{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%w)", err)
	})
}

// fail marks a Job failed the way the Job controller does.
func (f *apiFixture) fail(name string) {
	f.t.Helper()
	f.update(name, true, func(j *batchv1.Job) {
		now := metav1.Now()
		j.Status.StartTime = &now
		j.Status.Failed = DefaultBackoffLimit + 1
		j.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: batchv1.JobReasonBackoffLimitExceeded},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: batchv1.JobReasonBackoffLimitExceeded},
		}
	})
}

// node creates a Node labelled with a hostname.
func (f *apiFixture) node(suffix string) (name, host string) {
	f.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: f.ns + "-" + suffix,
		Labels: map[string]string{affinity.HostnameLabel: "host-" + f.ns + "-" + suffix}}}
	if err := cluster.Client.Create(f.ctx, n); err != nil {
		f.t.Fatalf("creating node: %v", err)
	}
	f.t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), n) })
	return n.Name, n.Labels[affinity.HostnameLabel]
}

// app creates a running application pod on node that uses claim.
func (f *apiFixture) app(name, claim, node string) *corev1.Pod {
	f.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "app"}},
			Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}},
	}
	if err := cluster.Client.Create(f.ctx, p); err != nil {
		f.t.Fatalf("creating pod: %v", err)
	}
	p.Status.Phase = corev1.PodRunning
	if err := cluster.Client.Status().Update(f.ctx, p); err != nil {
		f.t.Fatalf("setting pod %s running: %v", name, err)
	}
	return p
}

// TestPlacementDecidedOncePerJob: a Direct mover is placed next to the application when its Job
// is created; when the application pod stops or moves mid-sync, the running Job is kept (the
// transfer is not restarted) and the placement is not even looked up again.
func TestPlacementDecidedOncePerJob(t *testing.T) {
	f := newAPIFixture(t)
	pods := &podListCounter{Reader: cachedclient.Start(t, cluster)}
	f.runner.Pods = pods
	n1, host1 := f.node("n1")
	n2, _ := f.node("n2")
	app := f.app("app", "data", n1)
	f.eventually("application pod in the controller's pod cache", func() error {
		got := &corev1.Pod{}
		if err := pods.Get(f.ctx, client.ObjectKeyFromObject(app), got); err != nil {
			return err
		}
		if got.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s", got.Status.Phase)
		}
		return nil
	})
	s := f.spec()
	s.Direct = true
	s.Data = &Data{PVC: &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "data"},
		Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
	}}

	f.run(s)
	job := f.job(s.Name)
	if got := job.Spec.Template.Spec.NodeSelector[affinity.HostnameLabel]; got != host1 {
		t.Fatalf("mover not placed with the application: nodeSelector %v, want %s", job.Spec.Template.Spec.NodeSelector, host1)
	}

	steps := []struct {
		what   string
		change func()
	}{
		{"application pod gone", func() {
			// No kubelet here to finish a graceful deletion.
			if err := cluster.Client.Delete(f.ctx, app, client.GracePeriodSeconds(0)); err != nil {
				t.Fatal(err)
			}
			f.eventually("application pod removed", func() error {
				err := cluster.Client.Get(f.ctx, client.ObjectKeyFromObject(app), &corev1.Pod{})
				if apierrors.IsNotFound(err) {
					return nil
				}
				return fmt.Errorf("still there (%w)", err)
			})
		}},
		{"application pod moved", func() { f.app("app-moved", "data", n2) }},
	}
	for _, step := range steps {
		step.change()
		pods.lists.Store(0)
		if o := f.run(s); o.Phase != Running || o.Err != nil {
			t.Fatalf("%s: outcome %+v, want the Job running", step.what, o)
		}
		now := f.job(s.Name)
		if now.UID != job.UID || !now.DeletionTimestamp.IsZero() {
			t.Fatalf("%s: the running Job was replaced (uid %s -> %s, deleting %v): the transfer restarts",
				step.what, job.UID, now.UID, now.DeletionTimestamp)
		}
		if got := now.Spec.Template.Spec.NodeSelector[affinity.HostnameLabel]; got != host1 {
			t.Fatalf("%s: placement changed to %q", step.what, got)
		}
		if n := pods.lists.Load(); n != 0 {
			t.Errorf("%s: %d Pod List(s) for a Job that exists; placement is decided when it is created", step.what, n)
		}
	}
}

// replaceWithLingeringPredecessor drives a Job to its replacement while a finalizer keeps the
// old Job, so that the successor's create finds the name taken; then the old Job goes away and
// the successor is created by a later Run. restart plays a controller restart while the old Job
// lingers (the in-process memory is lost; the old Job still says what its successor inherits).
func replaceWithLingeringPredecessor(f *apiFixture, s Spec, restart bool, toReplacement func(name string)) *batchv1.Job {
	f.t.Helper()
	f.run(s)
	old := f.job(s.Name)
	f.linger(s.Name)
	toReplacement(s.Name)
	f.run(s) // deletes the old Job; the create finds the name taken
	if j := f.job(s.Name); j.UID != old.UID || j.DeletionTimestamp.IsZero() {
		f.t.Fatalf("the old Job should linger under deletion: uid %s (old %s), deleting %v", j.UID, old.UID, j.DeletionTimestamp)
	}
	if restart {
		f.runner.successors = &handovers{}
	}
	if o := f.run(s); o.Phase != Running {
		f.t.Fatalf("outcome while the old Job is being deleted: %+v", o)
	}
	f.release(s.Name)
	f.run(s)
	successor := f.job(s.Name)
	if successor.UID == old.UID {
		f.t.Fatal("no successor Job was created")
	}
	return successor
}

// TestReplacedFailedJobKeepsItsCountWhenTheNameIsTaken: the failure count (and so the
// doubling retry delay) survives a replacement whose create hits AlreadyExists, also across a
// controller restart while the old Job lingers.
func TestReplacedFailedJobKeepsItsCountWhenTheNameIsTaken(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			f := newAPIFixture(t)
			successor := replaceWithLingeringPredecessor(f, f.spec(), restart, func(name string) {
				f.fail(name)
				f.clock.Step(RetryDelay(1) + time.Second)
			})
			if got := successor.Annotations[FailedJobsAnnotation]; got != "1" {
				t.Fatalf("successor %s = %q, want 1: the backoff was reset", FailedJobsAnnotation, got)
			}
		})
	}
}

// TestReplacedStalledJobKeepsItsCountWhenTheNameIsTaken: the same for a Job that never got a
// pod (its start timeout doubles per replacement).
func TestReplacedStalledJobKeepsItsCountWhenTheNameIsTaken(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			f := newAPIFixture(t)
			successor := replaceWithLingeringPredecessor(f, f.spec(), restart, func(string) {
				f.clock.Step(JobStartTimeout + time.Second)
			})
			if got := successor.Annotations[StalledJobsAnnotation]; got != "1" {
				t.Fatalf("successor %s = %q, want 1: the start timeout was reset", StalledJobsAnnotation, got)
			}
		})
	}
}

// TestBlockVolumeRefusedBeforeAnythingIsCreated: a mover without block support says so and
// creates no Job.
func TestBlockVolumeRefusedBeforeAnythingIsCreated(t *testing.T) {
	f := newAPIFixture(t)
	s := f.spec()
	s.Data = &Data{PVC: &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "data"},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeMode: ptr.To(corev1.PersistentVolumeBlock)},
	}}
	_, err := f.runner.Run(f.ctx, s)
	want := fmt.Sprintf("PVC %s/data has volumeMode Block; the mover mover supports only Filesystem volumes", f.ns)
	if !errors.Is(err, ErrBlockUnsupported) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Run = %v, want %q", err, want)
	}
	if err := cluster.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: s.Name}, &batchv1.Job{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a Job was created for a Block volume the mover cannot read: %v", err)
	}
	s.BlockSupported = true
	f.run(s)
	if d := f.job(s.Name).Spec.Template.Spec.Containers[0].VolumeDevices; len(d) != 1 || d[0].DevicePath != BlockDevicePath {
		t.Fatalf("a mover with block support gets the volume as a device: %+v", d)
	}
}

// TestStuckPodReported: a Job whose pod cannot start (its image cannot be pulled) is reported
// with Kubernetes' reason once it has had no ready pod for PodStuckAfter, without a Pod List
// before that; a pod that starts clears it.
func TestStuckPodReported(t *testing.T) {
	f := newAPIFixture(t)
	s := f.spec()
	f.run(s)
	job := f.job(s.Name)
	f.update(s.Name, true, func(j *batchv1.Job) { j.Status.Active, j.Status.Ready = 1, ptr.To[int32](0) })
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: s.Name + "-x", Namespace: f.ns,
		Labels: map[string]string{batchv1.ControllerUidLabel: string(job.UID), batchv1.JobNameLabel: s.Name}},
		Spec: *job.Spec.Template.Spec.DeepCopy()}
	if err := cluster.Client.Create(f.ctx, pod); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "mover", Image: "mover:1",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "mover:1"`}}}}}
	if err := cluster.Client.Status().Update(f.ctx, pod); err != nil {
		t.Fatal(err)
	}
	f.eventually("the cache to see the Job running", func() error {
		if o := f.run(s); o.RetryAfter == 0 || o.RetryAfter > PodStuckAfter {
			return fmt.Errorf("outcome %+v", o)
		}
		return nil
	})
	if n := f.reader.lists.Load(); n != 0 {
		t.Fatalf("%d Pod Lists before PodStuckAfter", n)
	}
	f.clock.Step(PodStuckAfter + time.Second)
	o := f.run(s)
	if o.Phase != Running || o.Err == nil || !strings.Contains(o.Err.Error(), "cannot start: container mover: ImagePullBackOff: Back-off pulling image") {
		t.Fatalf("outcome %+v", o)
	}
	f.update(s.Name, true, func(j *batchv1.Job) { j.Status.Ready = ptr.To[int32](1) })
	f.eventually("the ready pod", func() error {
		if o := f.run(s); o.Err != nil || o.Phase != Running {
			return fmt.Errorf("outcome %+v", o)
		}
		return nil
	})
}

func TestStuckReasons(t *testing.T) {
	pending := func(c ...corev1.PodCondition) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: c}}
	}
	unsched := pending(corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available"})
	if got := CannotStart(unsched); got != "not schedulable: 0/1 nodes are available" {
		t.Errorf("unschedulable: %q", got)
	}
	creating := pending()
	creating.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "m", State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
	if got := CannotStart(creating); got != "" {
		t.Errorf("a container being created is not stuck: %q", got)
	}
	running := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if got := CannotStart(running); got != "" {
		t.Errorf("running: %q", got)
	}
}

// TestFailedJobReplacedAtOnceWhenTheSpecChanges: a failed Job waits its retry delay, unless
// the user changed the pod's spec since (a fix): then a new Job starts at once, its failure
// count afresh.
func TestFailedJobReplacedAtOnceWhenTheSpecChanges(t *testing.T) {
	f := newAPIFixture(t)
	s := f.spec()
	f.run(s)
	f.fail(s.Name)
	old := f.job(s.Name).UID
	f.eventually("the failure reported", func() error {
		if o := f.run(s); o.Phase != Failed {
			return fmt.Errorf("outcome %+v", o)
		}
		return nil
	})
	if f.job(s.Name).UID != old {
		t.Fatal("replaced before its delay with the same spec")
	}
	s.Image = "mover:2"
	f.eventually("a new Job with the new spec", func() error {
		f.run(s)
		job := &batchv1.Job{}
		if err := cluster.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: s.Name}, job); err != nil {
			return err
		}
		if job.UID == old || job.Spec.Template.Spec.Containers[0].Image != "mover:2" {
			return errors.New("not replaced yet")
		}
		if n := job.Annotations[FailedJobsAnnotation]; n != "" {
			return fmt.Errorf("failed-jobs %q carried", n)
		}
		return nil
	})
}
