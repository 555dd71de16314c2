package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

func TestStartTimeout(t *testing.T) {
	want := map[int]string{0: "2m0s", 1: "4m0s", 2: "8m0s", 4: "30m0s", 20: "30m0s"}
	for n, w := range want {
		if got := StartTimeout(n).String(); got != w {
			t.Errorf("StartTimeout(%d) = %s, want %s", n, got, w)
		}
	}
}

func TestNoPod(t *testing.T) {
	for _, tc := range []struct {
		name string
		job  batchv1.Job
		want bool
	}{
		{"new Job, nothing yet", batchv1.Job{}, true},
		{"pending or running pod", batchv1.Job{Status: batchv1.JobStatus{Active: 1}}, false},
		{"ready pod", batchv1.Job{Status: batchv1.JobStatus{Ready: ptr.To[int32](1)}}, false},
		{"a pod failed, the next not created yet", batchv1.Job{Status: batchv1.JobStatus{Failed: 1}}, false},
		{"a pod terminating", batchv1.Job{Status: batchv1.JobStatus{Terminating: ptr.To[int32](1)}}, false},
		{"succeeded", batchv1.Job{Status: batchv1.JobStatus{Succeeded: 1}}, false},
		{"paused (parallelism 0)", batchv1.Job{Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](0)}}, false},
	} {
		if got := noPod(&tc.job); got != tc.want {
			t.Errorf("%s: noPod = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCreatedUsesTheControllersClock(t *testing.T) {
	server := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(server)}}
	if !created(job).Equal(server) {
		t.Fatal("without the annotation, the creation timestamp is used")
	}
	job.Annotations = map[string]string{CreatedAnnotation: "2026-01-01T09:59:30Z"}
	if got := created(job); !got.Equal(server.Add(-30 * time.Second)) {
		t.Fatalf("created = %s, want the annotation's time", got)
	}
}

// runnerWith returns a Runner over a fake API holding job (pure decision logic of Run; the
// integration tests of the movers run it against a real API server).
func runnerWith(t *testing.T, job *batchv1.Job) Runner {
	t.Helper()
	scheme, err := testenv.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	if err := controllerutil.SetControllerReference(owner(), job, scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(job).WithStatusSubresource(job).Build()
	return Runner{Client: c, APIReader: c, Events: events.For(nil, nil), Clock: clocktesting.NewFakeClock(time.Now())}
}

// TestRetriedFailureStaysReported: once a failed pod was reported, later reconciles (the
// first comes from the Job annotation the report itself writes) keep the error while
// Kubernetes retries, instead of clearing it until the Job ends.
func TestRetriedFailureStaysReported(t *testing.T) {
	job := Build(baseSpec())
	job.Annotations[FailuresReportedAnnotation] = "1"
	job.Annotations[LastFailureAnnotation] = "TLS handshake failed: PSK mismatch?"
	job.Status = batchv1.JobStatus{Failed: 1, Active: 1}
	r := runnerWith(t, job)
	o, err := r.Run(context.Background(), baseSpec())
	if err != nil {
		t.Fatal(err)
	}
	if o.Phase != Running || o.Err == nil || !strings.Contains(o.Err.Error(), "attempt 1 of 5 failed (retrying): TLS handshake failed") {
		t.Fatalf("outcome %+v, want the reported failure kept", o)
	}
	if o.MoverStatus != nil {
		t.Fatal("latestMoverStatus was published with the report; nothing new to publish")
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("ééé", 3); got != "é..." {
		t.Fatalf("truncate must cut on a rune boundary: %q", got)
	}
	if got := truncate("short", 10); got != "short" {
		t.Fatalf("got %q", got)
	}
}
