package jobs

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
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
