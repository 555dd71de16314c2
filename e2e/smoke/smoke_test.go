//go:build e2e

package smoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// Deadlines for the things the test waits for; the whole test polls, it never sleeps to
// synchronise.
const (
	pvcBoundTimeout    = 90 * time.Second
	jobTimeout         = 2 * time.Minute
	snapshotTimeout    = 2 * time.Minute
	podReadyTimeout    = 2 * time.Minute
	deletionTimeout    = 2 * time.Minute
	namespaceTimeout   = 3 * time.Minute
	testTimeout        = 9 * time.Minute
	volumeSize         = "64Mi"
	fileSize           = 1 << 20
	defaultImage       = "localhost/busybox:dev"
	defaultCSIDataDir  = "/var/lib/volsync-go-cluster/csi-hostpath"
	serviceTokenPrefix = "volsync-smoke-service-"
)

// dataFiles are written by the writer Job; each holds its line repeated up to fileSize bytes, so
// the expected checksums are computed here independently of the cluster.
var dataFiles = map[string]string{
	"file-1":       "volsync-1",
	"file-2":       "volsync-2",
	"dir/file-3":   "volsync-3",
	"dir/a/file-4": "volsync-4",
}

type env struct {
	c     client.Client
	ns    string
	image string
}

func TestMain(m *testing.M) { cluster.Main(m) }

func TestSmoke(t *testing.T) {
	c := cluster.C
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	e := &env{c: c, ns: "smoke-" + rand.String(6), image: cluster.EnvOr("SMOKE_IMAGE", defaultImage)}
	dataDir := cluster.EnvOr("CSI_DATA_DIR", defaultCSIDataDir)
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}))
	t.Cleanup(func() { e.deleteNamespace(t) })
	t.Logf("namespace %s", e.ns)

	want := expectedSums()
	start := time.Now()

	// A dynamically provisioned PVC gets known data from a Job.
	must(t, e.createPVC(ctx, "source", nil))
	sourcePV := e.waitBound(ctx, t, "source")
	t.Logf("source PVC bound to %s after %s", sourcePV.Name, time.Since(start).Round(time.Millisecond))
	sourceDir := findDir(t, dataDir, volumeHandle(t, sourcePV))
	e.runJob(ctx, t, "writer", "source", writeScript())
	assertSums(t, "source", e.runJob(ctx, t, "read-source", "source", readScript()), want)

	// A clone holds the same data.
	must(t, e.createPVC(ctx, "clone", &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "source"}))
	clonePV := e.waitBound(ctx, t, "clone")
	cloneDir := findDir(t, dataDir, volumeHandle(t, clonePV))
	assertSums(t, "clone", e.runJob(ctx, t, "read-clone", "clone", readScript()), want)

	// A snapshot becomes readyToUse through the real snapshot-controller and csi-snapshotter.
	snap := &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: "snap", Namespace: e.ns},
		Spec: snapv1.VolumeSnapshotSpec{
			Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("source")},
		},
	}
	must(t, c.Create(ctx, snap))
	content := e.waitSnapshotReady(ctx, t, "snap")
	snapDir := findDir(t, dataDir, *content.Status.SnapshotHandle)
	t.Logf("snapshot ready: content %s, handle %s", content.Name, *content.Status.SnapshotHandle)

	// Changing the source afterwards must not change what the snapshot restores.
	e.runJob(ctx, t, "overwrite", "source", "echo changed > /data/file-1 && rm /data/dir/file-3 && sync")

	must(t, e.createPVC(ctx, "restore", &corev1.TypedLocalObjectReference{
		APIGroup: ptr.To(snapv1.GroupName), Kind: "VolumeSnapshot", Name: "snap",
	}))
	restorePV := e.waitBound(ctx, t, "restore")
	restoreDir := findDir(t, dataDir, volumeHandle(t, restorePV))
	assertSums(t, "restore", e.runJob(ctx, t, "read-restore", "restore", readScript()), want)
	changed := e.runJob(ctx, t, "read-changed", "source", readScript())
	if gotChanged := parseSums(t, changed); gotChanged["file-1"] == want["file-1"] || gotChanged["dir/file-3"] != "" {
		t.Errorf("the overwrite Job did not change the source volume: %v", gotChanged)
	}

	// A Service is reachable by its DNS name from a pod.
	e.checkServiceDNS(ctx, t)

	// Deleting the snapshot and the PVCs removes their directories on the node.
	e.deleteJobs(ctx, t)
	must(t, c.Delete(ctx, snap))
	cluster.WaitGone(t, deletionTimeout, &snapv1.VolumeSnapshotContent{ObjectMeta: metav1.ObjectMeta{Name: content.Name}})
	waitNoPath(t, snapDir)
	for _, p := range []struct {
		pvc string
		pv  *corev1.PersistentVolume
		dir string
	}{{"restore", restorePV, restoreDir}, {"clone", clonePV, cloneDir}, {"source", sourcePV, sourceDir}} {
		must(t, c.Delete(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: p.pvc, Namespace: e.ns}}))
		cluster.WaitGone(t, deletionTimeout, p.pv)
		waitNoPath(t, p.dir)
	}
	t.Logf("smoke test passed in %s", time.Since(start).Round(time.Millisecond))
}

var must = cluster.Must

func expectedSums() map[string]string {
	out := map[string]string{}
	for name, line := range dataFiles {
		data := bytes.Repeat([]byte(line+"\n"), fileSize/len(line)+1)[:fileSize]
		sum := sha256.Sum256(data)
		out[name] = hex.EncodeToString(sum[:])
	}
	return out
}

func writeScript() string {
	names := make([]string, 0, len(dataFiles))
	for n := range dataFiles {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("set -e; cd /data\n")
	for _, n := range names {
		fmt.Fprintf(&b, "mkdir -p $(dirname %s); yes %s | head -c %d > %s\n", n, dataFiles[n], fileSize, n)
	}
	b.WriteString("sync\n")
	return b.String()
}

// readScript reports every file's checksum in the container's termination message.
func readScript() string {
	return "set -e; cd /data; find . -type f | sed 's|^./||' | sort | xargs -r sha256sum > /dev/termination-log; cat /dev/termination-log"
}

func parseSums(t *testing.T, msg string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(msg), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("unexpected checksum line %q", line)
		}
		out[f[1]] = f[0]
	}
	return out
}

func assertSums(t *testing.T, what, msg string, want map[string]string) {
	t.Helper()
	got := parseSums(t, msg)
	if len(got) != len(want) {
		t.Errorf("%s: got files %v, want %v", what, got, want)
	}
	for name, sum := range want {
		if got[name] != sum {
			t.Errorf("%s: %s has checksum %q, want %q", what, name, got[name], sum)
		}
	}
	if !t.Failed() {
		t.Logf("%s: %d files with the expected checksums", what, len(got))
	}
}

func (e *env) createPVC(ctx context.Context, name string, source *corev1.TypedLocalObjectReference) error {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(volumeSize)},
			},
			DataSource: source,
		},
	}
	if err := e.c.Create(ctx, pvc); err != nil {
		return fmt.Errorf("creating PVC %s: %w", name, err)
	}
	return nil
}

func (e *env) waitBound(ctx context.Context, t *testing.T, name string) *corev1.PersistentVolume {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	cluster.Eventually(t, pvcBoundTimeout, "PVC "+name+" to be bound", func() error {
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, pvc); err != nil {
			return err
		}
		if pvc.Status.Phase != corev1.ClaimBound {
			return fmt.Errorf("phase %q", pvc.Status.Phase)
		}
		return nil
	})
	pv := &corev1.PersistentVolume{}
	must(t, e.c.Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, pv))
	if got := pvc.Status.Capacity[corev1.ResourceStorage]; got.Cmp(resource.MustParse(volumeSize)) < 0 {
		t.Errorf("PVC %s capacity %s, want at least %s", name, got.String(), volumeSize)
	}
	return pv
}

func volumeHandle(t *testing.T, pv *corev1.PersistentVolume) string {
	t.Helper()
	if pv.Spec.CSI == nil || pv.Spec.CSI.VolumeHandle == "" {
		t.Fatalf("PV %s has no CSI source", pv.Name)
	}
	return pv.Spec.CSI.VolumeHandle
}

// findDir finds the directory the driver keeps for a volume or snapshot handle.
func findDir(t *testing.T, root, handle string) string {
	t.Helper()
	var found string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == handle {
			found = path
			return filepath.SkipAll
		}
		if d.IsDir() && strings.Count(strings.TrimPrefix(path, root), "/") >= 3 {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatalf("searching %s for %s: %v", root, handle, err)
	}
	if found == "" {
		t.Fatalf("no directory named %s under %s", handle, root)
	}
	return found
}

func waitNoPath(t *testing.T, path string) {
	t.Helper()
	cluster.Eventually(t, deletionTimeout, path+" to be removed", func() error {
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("still there (stat: %w)", err)
		}
		return nil
	})
	t.Logf("%s removed", path)
}

// runJob runs sh -c script in a Job with the PVC at /data and returns its termination message.
func (e *env) runJob(ctx context.Context, t *testing.T, name, pvc, script string) string {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"smoke-job": name}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:            "main",
						Image:           e.image,
						ImagePullPolicy: corev1.PullNever,
						Command:         []string{"/bin/sh", "-c", script},
						VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
					}},
					Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
						PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc},
					}}},
				},
			},
		},
	}
	must(t, e.c.Create(ctx, job))
	return e.waitJob(ctx, t, name)
}

func (e *env) waitJob(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	job := &batchv1.Job{}
	cluster.Eventually(t, jobTimeout, "Job "+name+" to finish", func() error {
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, job); err != nil {
			return err
		}
		for _, c := range job.Status.Conditions {
			if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
				return nil
			}
		}
		_, podInfo := e.jobPodMessage(ctx, t, name)
		return fmt.Errorf("running; pod: %s", podInfo)
	})
	msg, podInfo := e.jobPodMessage(ctx, t, name)
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			t.Fatalf("Job %s failed: %s; pod: %s", name, c.Message, podInfo)
		}
	}
	return msg
}

func (e *env) jobPodMessage(ctx context.Context, t *testing.T, name string) (string, string) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := e.c.List(ctx, pods, client.InNamespace(e.ns), client.MatchingLabels{"smoke-job": name}); err != nil {
		return "", err.Error()
	}
	var info []string
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if term := cs.State.Terminated; term != nil {
				info = append(info, fmt.Sprintf("%s exit %d: %s", p.Name, term.ExitCode, term.Message))
				if term.ExitCode == 0 {
					return term.Message, ""
				}
			} else {
				info = append(info, fmt.Sprintf("%s phase %s %+v", p.Name, p.Status.Phase, cs.State))
			}
		}
		if len(p.Status.ContainerStatuses) == 0 {
			info = append(info, fmt.Sprintf("%s phase %s conditions %+v", p.Name, p.Status.Phase, p.Status.Conditions))
		}
	}
	return "", strings.Join(info, "; ")
}

func (e *env) waitSnapshotReady(ctx context.Context, t *testing.T, name string) *snapv1.VolumeSnapshotContent {
	t.Helper()
	snap := &snapv1.VolumeSnapshot{}
	cluster.Eventually(t, snapshotTimeout, "VolumeSnapshot "+name+" to be ready", func() error {
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, snap); err != nil {
			return err
		}
		if s := snap.Status; s != nil && s.Error != nil && s.Error.Message != nil {
			t.Logf("snapshot %s reports an error (may be transient): %s", name, *s.Error.Message)
		}
		if s := snap.Status; s == nil || s.ReadyToUse == nil || !*s.ReadyToUse || s.BoundVolumeSnapshotContentName == nil {
			return fmt.Errorf("status %+v", s)
		}
		return nil
	})
	if snap.Status.RestoreSize == nil || snap.Status.RestoreSize.IsZero() {
		t.Errorf("VolumeSnapshot %s has no restoreSize", name)
	}
	content := &snapv1.VolumeSnapshotContent{}
	must(t, e.c.Get(ctx, client.ObjectKey{Name: *snap.Status.BoundVolumeSnapshotContentName}, content))
	if content.Status == nil || content.Status.SnapshotHandle == nil {
		t.Fatalf("VolumeSnapshotContent %s has no snapshot handle", content.Name)
	}
	return content
}

func (e *env) deleteJobs(ctx context.Context, t *testing.T) {
	t.Helper()
	must(t, e.c.DeleteAllOf(ctx, &batchv1.Job{}, client.InNamespace(e.ns),
		client.PropagationPolicy(metav1.DeletePropagationForeground)))
	cluster.Eventually(t, deletionTimeout, "Job pods to be deleted", func() error {
		pods := &corev1.PodList{}
		if err := e.c.List(ctx, pods, client.InNamespace(e.ns), client.HasLabels{"smoke-job"}); err != nil {
			return err
		}
		if len(pods.Items) != 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return nil
	})
}

// checkServiceDNS serves a token over HTTP behind a Service and fetches it from another pod by
// the Service's short and fully qualified DNS names.
func (e *env) checkServiceDNS(ctx context.Context, t *testing.T) {
	t.Helper()
	token := serviceTokenPrefix + rand.String(8)
	labels := map[string]string{"app": "web"}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.ns, Labels: labels},
		Spec: corev1.PodSpec{
			// httpd runs as PID 1 and ignores SIGTERM: do not hold namespace deletion for 30 s.
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name:            "web",
				Image:           e.image,
				ImagePullPolicy: corev1.PullNever,
				Command: []string{"/bin/sh", "-c",
					fmt.Sprintf("mkdir -p /www && echo %s > /www/index.html && exec httpd -f -p 8080 -h /www", token)},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
	must(t, e.c.Create(ctx, pod))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.ns},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	must(t, e.c.Create(ctx, svc))
	cluster.Eventually(t, podReadyTimeout, "a ready endpoint of Service web", func() error {
		slices := &discoveryv1.EndpointSliceList{}
		if err := e.c.List(ctx, slices, client.InNamespace(e.ns),
			client.MatchingLabels{discoveryv1.LabelServiceName: "web"}); err != nil {
			return err
		}
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					return nil
				}
			}
		}
		return fmt.Errorf("%d EndpointSlices, none ready", len(slices.Items))
	})
	// kube-proxy and CoreDNS pick the Service up asynchronously: the client retries each name
	// for a bounded number of attempts. (busybox wget's own -T option crashes in Debian's static
	// busybox, hence the timeout applet.)
	fqdn := fmt.Sprintf("web.%s.svc.cluster.local", e.ns)
	script := fmt.Sprintf(`set -e
fetch() { i=0; until timeout 5 wget -q -O /tmp/out "http://$1/"; do i=$((i+1)); [ $i -lt 30 ] || return 1; sleep 1; done; cat /tmp/out; }
a=$(fetch %s); b=$(fetch web); echo "$a $b" > /dev/termination-log`, fqdn)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "dns-client", Namespace: e.ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"smoke-job": "dns-client"}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name: "main", Image: e.image, ImagePullPolicy: corev1.PullNever,
						Command: []string{"/bin/sh", "-c", script},
					}},
				},
			},
		},
	}
	start := time.Now()
	must(t, e.c.Create(ctx, job))
	msg := e.waitJob(ctx, t, "dns-client")
	if got, want := strings.TrimSpace(msg), token+" "+token; got != want {
		t.Fatalf("fetched %q through the Service, want %q", got, want)
	}
	t.Logf("Service reachable as %s and as web from a pod in %s", fqdn, time.Since(start).Round(time.Millisecond))
}

func (e *env) deleteNamespace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), namespaceTimeout)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}
	if err := e.c.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting namespace %s: %v", e.ns, err)
		return
	}
	cluster.WaitGone(t, deletionTimeout, ns)
}
