//go:build e2e

package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Deadlines; the tests poll, they never sleep to synchronise.
const (
	pollInterval    = time.Second
	podTimeout      = 5 * time.Minute
	syncTimeout     = 6 * time.Minute
	errorTimeout    = 3 * time.Minute
	deleteTimeout   = 3 * time.Minute
	volumeSize      = "1Gi"
	controllerNS    = "volsync-system"
	controllerName  = "volsync-rsync-tls"
	metricsService  = "volsync-rsync-tls-metrics"
	defaultToolsImg = "localhost/busybox:dev"
)

var (
	c     client.Client
	cs    *kubernetes.Clientset
	image = envOr("E2E_TOOLS_IMAGE", defaultToolsImg)
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	cfg, err := config.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "no cluster: set KUBECONFIG (make e2e does):", err)
		os.Exit(1)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, snapv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	if c, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if cs, err = kubernetes.NewForConfig(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls f until it returns nil, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(pollInterval)
	}
}

// Pod Security Standard levels the suites' namespaces enforce.
const (
	psaEnforceLabel = "pod-security.kubernetes.io/enforce"
	psaRestricted   = "restricted"
	// psaBaseline is enough for privileged movers: root with CHOWN, DAC_OVERRIDE, FOWNER,
	// FSETID, SETGID and SETUID, which the baseline level allows.
	psaBaseline = "baseline"
)

// The application's user: the tool pods write and read the volumes as this uid/gid, as an
// application would, never as the mover's user.
const (
	appUID int64 = 1000
	appGID int64 = 1000
)

// namespace creates a namespace as most users have it: enforcing the restricted Pod Security
// Standard, without the privileged-movers annotation, so movers run unprivileged (the default
// path). It is deleted when the test ends (unless E2E_KEEP is set).
func namespace(t *testing.T, prefix string) string {
	t.Helper()
	return newNamespace(t, prefix, map[string]string{psaEnforceLabel: psaRestricted}, nil)
}

// privilegedNamespace creates a namespace that lets movers run privileged (as root, keeping
// ownership), as disaster recovery of arbitrary application data needs.
func privilegedNamespace(t *testing.T, prefix string) string {
	t.Helper()
	return newNamespace(t, prefix, map[string]string{psaEnforceLabel: psaBaseline},
		map[string]string{v1alpha1.PrivilegedMoversNamespaceAnnotation: "true"})
}

func newNamespace(t *testing.T, prefix string, labels, annotations map[string]string) string {
	t.Helper()
	name := prefix + "-" + rand.String(5)
	must(t, c.Create(ctxT(t, time.Minute), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: labels, Annotations: annotations}}))
	t.Cleanup(func() {
		if os.Getenv("E2E_KEEP") == "" {
			_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	})
	return name
}

// restrictedPod makes a pod spec pass the restricted Pod Security Standard, running as uid:gid.
func restrictedPod(spec *corev1.PodSpec, uid, gid int64) {
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

func newPVC(ns, name string, from *corev1.TypedLocalObjectReference) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:     corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(volumeSize)}},
			DataSourceRef: typedRef(from),
		},
	}
}

func typedRef(r *corev1.TypedLocalObjectReference) *corev1.TypedObjectReference {
	if r == nil {
		return nil
	}
	return &corev1.TypedObjectReference{APIGroup: r.APIGroup, Kind: r.Kind, Name: r.Name}
}

// runPod runs a shell script as the application's user in a pod with the PVC at /data and
// returns its output.
func runPod(t *testing.T, ns, pvc, script string) string {
	t.Helper()
	return runPodAs(t, ns, pvc, appUID, appGID, script)
}

// runPodAs runs a shell script as uid:gid (restricted pod security) in a pod with the PVC at
// /data and returns its output.
func runPodAs(t *testing.T, ns, pvc string, uid, gid int64, script string) string {
	t.Helper()
	ctx := ctxT(t, podTimeout)
	name := "tool-" + rand.String(6)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "tool", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command:      []string{"/bin/sh", "-ec", script},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc}}}},
		},
	}
	restrictedPod(&pod.Spec, uid, gid)
	must(t, c.Create(ctx, pod))
	defer func() { _ = c.Delete(context.Background(), pod, client.GracePeriodSeconds(0)) }()
	eventually(t, podTimeout, "pod "+name+" to finish", func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return err
		}
		switch pod.Status.Phase {
		case corev1.PodSucceeded:
			return nil
		case corev1.PodFailed:
			t.Fatalf("pod %s failed: %s", name, logs(t, ns, name))
		}
		return fmt.Errorf("phase %s", pod.Status.Phase)
	})
	return logs(t, ns, name)
}

func logs(t *testing.T, ns, pod string) string {
	t.Helper()
	r, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).Stream(ctxT(t, time.Minute))
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer func() { _ = r.Close() }()
	var b bytes.Buffer
	_, _ = io.Copy(&b, r)
	return b.String()
}

// writeTree fills a volume with a mixed tree: nested dirs, symlinks, hardlinks, an empty dir,
// many small files and one large file. Run as the application's user with the usual umask, every
// entry is readable by others, so an unprivileged mover (another uid) can copy it.
const writeTree = `
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

// treeDigest returns the manifest summary of a PVC ("entries N\ndigest H"), read as the
// application's user.
func treeDigest(t *testing.T, ns, pvc string) string {
	t.Helper()
	return treeDigestAs(t, ns, pvc, appUID, appGID)
}

// treeDigestAs is treeDigest read as uid:gid.
func treeDigestAs(t *testing.T, ns, pvc string, uid, gid int64) string {
	t.Helper()
	out := runPodAs(t, ns, pvc, uid, gid, manifest)
	lines := []string{}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "entries ") || strings.HasPrefix(l, "digest ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("manifest of %s/%s: %q", ns, pvc, out)
	}
	return strings.Join(lines, "\n")
}

// restore makes a PVC from a destination's latestImage and returns its name.
func restore(t *testing.T, rd *v1alpha1.ReplicationDestination, name string) string {
	t.Helper()
	img := rd.Status.LatestImage
	if img == nil {
		t.Fatal("no latestImage")
	}
	if img.Kind == "PersistentVolumeClaim" {
		return img.Name
	}
	pvc := newPVC(rd.Namespace, name, img)
	must(t, c.Create(ctxT(t, time.Minute), pvc))
	return name
}

func condition(st *v1alpha1.CommonStatus) *metav1.Condition {
	if st == nil {
		return nil
	}
	for i := range st.Conditions {
		if st.Conditions[i].Type == v1alpha1.ConditionSynchronizing {
			return &st.Conditions[i]
		}
	}
	return nil
}

// waitManual waits for both sides to record a manual sync.
func waitManual(t *testing.T, rs *v1alpha1.ReplicationSource, rd *v1alpha1.ReplicationDestination, value string) {
	t.Helper()
	ctx := ctxT(t, syncTimeout)
	eventually(t, syncTimeout, "lastManualSync "+value, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(rs), rs); err != nil {
			return err
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(rd), rd); err != nil {
			return err
		}
		if rs.Status == nil || rs.Status.LastManualSync != value {
			return fmt.Errorf("source: %s", describe(rsCommon(rs)))
		}
		if rd.Status == nil || rd.Status.LastManualSync != value {
			return fmt.Errorf("destination: %s", describe(rdCommon(rd)))
		}
		return nil
	})
}

func rsCommon(rs *v1alpha1.ReplicationSource) *v1alpha1.CommonStatus {
	if rs.Status == nil {
		return nil
	}
	return &rs.Status.CommonStatus
}

func rdCommon(rd *v1alpha1.ReplicationDestination) *v1alpha1.CommonStatus {
	if rd.Status == nil {
		return nil
	}
	return &rd.Status.CommonStatus
}

func describe(st *v1alpha1.CommonStatus) string {
	if st == nil {
		return "no status"
	}
	c := condition(st)
	if c == nil {
		return "no condition"
	}
	s := fmt.Sprintf("%s: %s (lastManualSync %q)", c.Reason, c.Message, st.LastManualSync)
	if st.LatestMoverStatus != nil {
		s += fmt.Sprintf("; mover %s: %s", st.LatestMoverStatus.Result, st.LatestMoverStatus.Logs)
	}
	return s
}

// trigger sets the manual trigger of an object.
func trigger(t *testing.T, obj client.Object, value string) {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	eventually(t, time.Minute, "set manual trigger", func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		switch o := obj.(type) {
		case *v1alpha1.ReplicationSource:
			o.Spec.Trigger = &v1alpha1.TriggerSpec{Manual: value}
		case *v1alpha1.ReplicationDestination:
			o.Spec.Trigger = &v1alpha1.TriggerSpec{Manual: value}
		}
		return c.Update(ctx, obj)
	})
}

// copySecret copies a Secret between namespaces, as a user copies the key to the source side.
func copySecret(t *testing.T, fromNS, name, toNS string) {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	s := &corev1.Secret{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: fromNS, Name: name}, s))
	must(t, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: toNS}, Data: s.Data}))
}

// pair creates a destination in dstNS, copies its generated key to srcNS as a user does, and
// creates a source of the PVC "data" in srcNS that sends to it.
func pair(t *testing.T, srcNS, dstNS string, dstMethod, srcMethod v1alpha1.CopyMethodType, trig *v1alpha1.TriggerSpec) (*v1alpha1.ReplicationSource, *v1alpha1.ReplicationDestination) {
	t.Helper()
	rd := destination(dstNS, "dst", dstMethod, trig)
	must(t, c.Create(ctxT(t, time.Minute), rd))
	addr, key := waitDestinationReady(t, rd)
	copySecret(t, dstNS, key, srcNS)
	rs := source(srcNS, "src", "data", addr, key, srcMethod, trig.DeepCopy())
	must(t, c.Create(ctxT(t, time.Minute), rs))
	return rs, rd
}

// waitDestinationReady waits for the destination's address and key.
func waitDestinationReady(t *testing.T, rd *v1alpha1.ReplicationDestination) (addr, key string) {
	t.Helper()
	ctx := ctxT(t, syncTimeout)
	eventually(t, 2*time.Minute, "destination address", func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(rd), rd); err != nil {
			return err
		}
		if rd.Status == nil || rd.Status.RsyncTLS == nil || rd.Status.RsyncTLS.Address == nil {
			return errors.New("no address yet")
		}
		return nil
	})
	if rd.Status.RsyncTLS.KeySecret != nil {
		key = *rd.Status.RsyncTLS.KeySecret
	}
	return *rd.Status.RsyncTLS.Address, key
}

func eventsOf(t *testing.T, ns, name string) map[string][]string {
	t.Helper()
	list := &eventsv1.EventList{}
	must(t, c.List(ctxT(t, time.Minute), list, client.InNamespace(ns)))
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

func notFound(err error) bool { return apierrors.IsNotFound(err) }
