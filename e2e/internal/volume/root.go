//go:build e2e

package volume

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// RunAsRoot runs a shell script as root (uid 0, the default capabilities such as CHOWN and
// DAC_OVERRIDE, no privilege escalation) in a pod with the PVC at /data and returns its
// output; a failing script fails the test. The namespace must allow it (the baseline Pod
// Security Standard, as cluster.PrivilegedNamespace has): it prepares and reads volumes whose
// files belong to several users.
func RunAsRoot(t *testing.T, ns, pvc, script string) string {
	t.Helper()
	pod := podWithVolume(ns, "", pvc, 0, 0, "/bin/sh", "-ec", script)
	pod.GenerateName, pod.Name = "root-tool-", ""
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsUser: ptr.To(int64(0)), RunAsGroup: ptr.To(int64(0)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}
	out, err := cluster.RunPod(t, pod, podTimeout)
	cluster.Must(t, err)
	return out
}

// OwnershipDigest returns the OwnershipManifest summary of a PVC ("entries N\ndigest H"),
// read as root.
func OwnershipDigest(t *testing.T, ns, pvc string) string {
	t.Helper()
	return summary(t, ns, pvc, RunAsRoot(t, ns, pvc, OwnershipManifest))
}

// OwnershipManifest prints, run as root, a digest of a tree with the owner, group and mode
// of every entry (symlinks themselves, not their targets) and the content hash of every file,
// and the number of entries: "entries N" and "digest H". The volume's root directory and
// lost+found are left out.
const OwnershipManifest = `
cd /data
{
  find . -mindepth 1 -path ./lost+found -prune -o -exec stat -c '%n %F %u:%g %a' {} + | sort
  find . -path ./lost+found -prune -o -type f -exec sha256sum {} + | sort -k2
} > /tmp/manifest
echo "entries $(wc -l < /tmp/manifest)"
echo "digest $(sha256sum < /tmp/manifest | cut -c1-64)"
`
