package lifecycle

import (
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/volsync-go/volsync/pkg/common/jobs"
)

// Metric reads the series of metric name whose labels include labels from the controller's
// registry (gauge or counter value, summary count), -1 when there is none.
func (h *Harness) Metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := h.Registry.Gather()
	Must(t, err)
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

// Series are the labels of an object's metric series (role "source" or "destination").
func (h *Harness) Series(name, ns, role string) map[string]string {
	return map[string]string{"obj_name": name, "obj_namespace": ns, "role": role, "method": h.Builder.Name()}
}

// Container returns the Job's mover container (its only one).
func Container(t *testing.T, job *batchv1.Job) corev1.Container {
	t.Helper()
	if n := len(job.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("Job %s has %d containers, want the mover alone", job.Name, n)
	}
	return job.Spec.Template.Spec.Containers[0]
}

// EnvOf returns a container's environment as a map.
func EnvOf(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

// DataClaim returns the claim the mover pod mounts as its data (at /data), "" for none.
func DataClaim(job *batchv1.Job) string {
	spec := job.Spec.Template.Spec
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.MountPath != jobs.DataMountPath {
				continue
			}
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.PersistentVolumeClaim != nil {
					return v.PersistentVolumeClaim.ClaimName
				}
			}
		}
	}
	return ""
}

// Volume returns the pod volume of the Job mounted at path, and its mount.
func Volume(t *testing.T, job *batchv1.Job, path string) (corev1.Volume, corev1.VolumeMount) {
	t.Helper()
	c := Container(t, job)
	for _, m := range c.VolumeMounts {
		if m.MountPath != path {
			continue
		}
		for _, v := range job.Spec.Template.Spec.Volumes {
			if v.Name == m.Name {
				return v, m
			}
		}
	}
	t.Fatalf("Job %s mounts nothing at %s: %+v", job.Name, path, c.VolumeMounts)
	return corev1.Volume{}, corev1.VolumeMount{}
}

// CheckMover checks the Job's mover container (its only one): image and arguments. It returns
// the container.
func CheckMover(t *testing.T, job *batchv1.Job, image string, args ...string) corev1.Container {
	t.Helper()
	c := Container(t, job)
	if c.Image != image || !slices.Equal(c.Args, args) {
		t.Fatalf("mover container %s: image %s args %q, want %s %q", c.Name, c.Image, c.Args, image, args)
	}
	return c
}

// SecretVolume returns the Secret volume the Job mounts read-only at path, and fails the test
// when it is another kind of volume, writable, or not of Secret name.
func SecretVolume(t *testing.T, job *batchv1.Job, path, name string) *corev1.SecretVolumeSource {
	t.Helper()
	v, m := Volume(t, job, path)
	if v.Secret == nil || v.Secret.SecretName != name || !m.ReadOnly {
		t.Fatalf("volume %+v mounted %+v at %s, want Secret %s read-only", v, m, path, name)
	}
	return v.Secret
}
