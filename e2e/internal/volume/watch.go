//go:build e2e

package volume

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Watch starts a pod called name that runs a shell script as uid:gid (restricted pod security)
// with the PVC at /data, never restarted, and waits for it to run: a watcher whose output the
// test polls (cluster.Logs) while something else uses the volume, for instance until a file
// appears. It goes with its namespace.
func Watch(t *testing.T, ns, name, pvc string, uid, gid int64, script string) *corev1.Pod {
	t.Helper()
	pod := podWithVolume(ns, name, pvc, uid, gid, "/bin/sh", "-ec", script)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	return startPod(t, pod, "watcher "+name)
}
