//go:build e2e

package volume

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

const (
	// Size is the requested size of every volume the suites create.
	Size = "1Gi"
	// podTimeout bounds a tool pod from creation to completion.
	podTimeout = 5 * time.Minute
)

// Image is the image of the tool pods (busybox): E2E_TOOLS_IMAGE or the locally built one.
var Image = cluster.EnvOr("E2E_TOOLS_IMAGE", "localhost/busybox:dev")

// The application's user: the tool pods write and read the volumes as this uid/gid, as an
// application would, never as the mover's user.
const (
	AppUID int64 = 1000
	AppGID int64 = 1000
)

// The owner of the volumes of the ownership scenarios: neither the mover's default user
// (65534) nor AppUID.
const (
	OwnerUID int64 = 1234
	OwnerGID int64 = 5678
)

// RestrictedPod makes a pod spec pass the restricted Pod Security Standard, running as uid:gid.
func RestrictedPod(spec *corev1.PodSpec, uid, gid int64) {
	spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(uid), RunAsGroup: ptr.To(gid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	for i := range spec.Containers {
		spec.Containers[i].SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
	}
}

// NewPVC returns a PVC of Size, empty or filled from a data source (a PVC or a VolumeSnapshot).
func NewPVC(ns, name string, from *corev1.TypedLocalObjectReference) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(Size)}},
		},
	}
	if from != nil {
		pvc.Spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: from.APIGroup, Kind: from.Kind, Name: from.Name}
	}
	return pvc
}

// podWithVolume returns a restricted pod running command as uid:gid with the PVC at /data.
func podWithVolume(ns, name, pvc string, uid, gid int64, command ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "tool", Image: Image, ImagePullPolicy: corev1.PullIfNotPresent, Command: command,
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc}}}},
			TerminationGracePeriodSeconds: ptr.To(int64(0)),
		},
	}
	RestrictedPod(&pod.Spec, uid, gid)
	return pod
}

// Run runs a shell script as the application's user in a pod with the PVC at /data and returns
// its output.
func Run(t *testing.T, ns, pvc, script string) string {
	t.Helper()
	return RunAs(t, ns, pvc, AppUID, AppGID, script)
}

// RunAs runs a shell script as uid:gid (restricted pod security) in a pod with the PVC at /data
// and returns its output. A failing script fails the test with the pod's logs.
func RunAs(t *testing.T, ns, pvc string, uid, gid int64, script string) string {
	t.Helper()
	ctx := cluster.Ctx(t, podTimeout)
	name := "tool-" + rand.String(6)
	pod := podWithVolume(ns, name, pvc, uid, gid, "/bin/sh", "-ec", script)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	cluster.Must(t, cluster.C.Create(ctx, pod))
	defer func() { _ = cluster.C.Delete(context.Background(), pod, client.GracePeriodSeconds(0)) }()
	cluster.Eventually(t, podTimeout, "pod "+name+" to finish", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return err
		}
		switch pod.Status.Phase {
		case corev1.PodSucceeded:
			return nil
		case corev1.PodFailed:
			t.Fatalf("pod %s failed: %s", name, cluster.Logs(t, ns, name))
		}
		return fmt.Errorf("phase %s", pod.Status.Phase)
	})
	return cluster.Logs(t, ns, name)
}

// StartApp starts a long-running application pod that mounts the PVC, as the application's
// user, and waits for it to run: the volume is in use (and, if RWO, tied to its node).
func StartApp(t *testing.T, ns, pvc string) *corev1.Pod {
	t.Helper()
	return startPod(t, podWithVolume(ns, "app", pvc, AppUID, AppGID, "/bin/sh", "-c", "sleep 100000"), "app")
}

// startPod creates a pod and waits for it to run; what names it in messages.
func startPod(t *testing.T, pod *corev1.Pod, what string) *corev1.Pod {
	t.Helper()
	ctx := cluster.Ctx(t, podTimeout)
	cluster.Must(t, cluster.C.Create(ctx, pod))
	cluster.Eventually(t, podTimeout, what+" running", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return err
		}
		if pod.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s", pod.Status.Phase)
		}
		return nil
	})
	return pod
}

// WriteTree fills a volume with a mixed tree: nested dirs, symlinks, hardlinks, an empty dir,
// many small files (SMALL_FILES, default 10000) and one large file (BIG_MB, default 100). Run
// as the application's user with the usual umask, every entry is readable by others, so an
// unprivileged mover (another uid) can copy it.
const WriteTree = `
cd /data
mkdir -p nested/a/b/c empty-dir small
echo top > top.txt
echo deep > nested/a/b/c/deep.txt
chmod 754 nested/a/b/c/deep.txt
ln -s nested/a/b/c/deep.txt link-to-deep
ln -s /nonexistent dangling-link
echo shared > hard-1
ln hard-1 hard-2
i=0
while [ $i -lt ${SMALL_FILES:-10000} ]; do
  d=small/$((i / 500))
  [ -d $d ] || mkdir -p $d
  echo "file $i" > $d/f$i
  i=$((i + 1))
done
dd if=/dev/urandom of=big.bin bs=1M count=${BIG_MB:-100} 2>/dev/null
touch -d '2020-01-02 03:04:05' top.txt
sync
`

// ChangeTree changes, deletes and adds entries of a tree written by WriteTree.
const ChangeTree = `cd /data; echo changed >> top.txt; rm -rf small/3 nested/a/b/c/deep.txt hard-2; mkdir -p added/x; echo new > added/x/n.txt; rmdir empty-dir; mkdir new-empty`

// PrivateTree adds what only its owner may read to a tree: a 0600 file and a 0700 directory.
const PrivateTree = `
cd /data
echo secret > secret.key
chmod 600 secret.key
mkdir private
echo inside > private/file
chmod 700 private
`

// manifest prints a digest of a tree: every path with its type, mode, link count, mtime and
// content hash (files), or target (symlinks), sorted; and the number of entries. The volume's
// root directory is left out: its owner and mode belong to the volume (the provisioner and the
// kubelet's fsGroup handling set them), and an unprivileged mover cannot change them.
const manifest = `
cd /data
{
  find . -path ./lost+found -prune -o -type f -exec stat -c 'F %n %a %h %Y' {} + | sort
  find . -path ./lost+found -prune -o -type f -exec sha256sum {} + | sort -k2
  find . -mindepth 1 -path ./lost+found -prune -o -type d -exec stat -c 'D %n %a' {} + | sort
  find . -type l | sort | while read -r l; do echo "L $l -> $(readlink "$l")"; done
} > /tmp/manifest
echo "entries $(wc -l < /tmp/manifest)"
echo "digest $(sha256sum < /tmp/manifest | cut -c1-64)"
`

// Digest returns the manifest summary of a PVC ("entries N\ndigest H"), read as the
// application's user.
func Digest(t *testing.T, ns, pvc string) string {
	t.Helper()
	return DigestAs(t, ns, pvc, AppUID, AppGID)
}

// DigestAs is Digest read as uid:gid.
func DigestAs(t *testing.T, ns, pvc string, uid, gid int64) string {
	t.Helper()
	return summary(t, ns, pvc, RunAs(t, ns, pvc, uid, gid, manifest))
}

// Fill creates the application's PVC, fills it with WriteTree (env sets its size, e.g.
// "SMALL_FILES=50 BIG_MB=1 ") as the application's user, and returns its digest.
func Fill(t *testing.T, ns, name, env string) string {
	t.Helper()
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), NewPVC(ns, name, nil)))
	Run(t, ns, name, env+WriteTree)
	return Digest(t, ns, name)
}

// FillOwned creates a PVC filled by OwnerUID:OwnerGID with a small tree that includes private
// entries, and returns its digest as that user sees it.
func FillOwned(t *testing.T, ns, name string) string {
	t.Helper()
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), NewPVC(ns, name, nil)))
	RunAs(t, ns, name, OwnerUID, OwnerGID, "SMALL_FILES=30 BIG_MB=1 "+WriteTree+PrivateTree)
	return DigestAs(t, ns, name, OwnerUID, OwnerGID)
}
