package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/treesum"
)

var (
	volumeSnapshots       = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	volumeSnapshotClasses = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
)

// snapshotterDir is where hack/cluster/build.sh caches csi-snapshotter, snapshot-controller
// and the external-snapshotter CRDs (override with CSI_SNAPSHOTTER_DIR).
func snapshotterDir() string {
	if d := os.Getenv("CSI_SNAPSHOTTER_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("VOLSYNC_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			base = filepath.Join(os.Getenv("HOME"), ".cache")
		}
		cache = filepath.Join(base, "volsync-go")
	}
	return filepath.Join(cache, "snapshotter", "v8.7.0")
}

// syncBuffer is a bytes.Buffer safe for a child process and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProcess runs a helper binary until the test ends (killed by its PID at cleanup).
func startProcess(t *testing.T, logs *syncBuffer, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// bindByHand does what kube-controller-manager's PV controller does for a provisioned claim.
func bindByHand(t *testing.T, ctx context.Context, kube kubernetes.Interface, claim *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	t.Helper()
	var pv *corev1.PersistentVolume
	poll(t, "PV for "+claim.Name, func() (bool, error) {
		var err error
		pv, err = kube.CoreV1().PersistentVolumes().Get(ctx, "pvc-"+string(claim.UID), metav1.GetOptions{})
		return err == nil, err
	})
	c, err := kube.CoreV1().PersistentVolumeClaims(claim.Namespace).Get(ctx, claim.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Spec.VolumeName = pv.Name
	if c, err = kube.CoreV1().PersistentVolumeClaims(c.Namespace).Update(ctx, c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Status.Phase, c.Status.Capacity, c.Status.AccessModes = corev1.ClaimBound, pv.Spec.Capacity, pv.Spec.AccessModes
	if _, err := kube.CoreV1().PersistentVolumeClaims(c.Namespace).UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeBound
	if pv, err = kube.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return pv
}

// TestWithRealSnapshotter runs the driver beside the real csi-snapshotter sidecar and
// snapshot-controller (v8.7.0, with their real CRDs) on a real kube-apiserver: a VolumeSnapshot
// of a provisioned volume becomes ready, a PVC restored from it has the snapshot's content, and
// deleting the VolumeSnapshot deletes the snapshot's data. Skipped when those binaries have not
// been built (hack/cluster/build.sh builds them); the cluster e2e covers the same path then.
func TestWithRealSnapshotter(t *testing.T) {
	dir := snapshotterDir()
	for _, f := range []string{"csi-snapshotter", "snapshot-controller", "crd"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Skipf("real external-snapshotter not built (%v); hack/cluster/build.sh builds it", err)
		}
	}
	te, admin := startEnv(t, filepath.Join(dir, "crd"))
	driverKC := driverKubeconfig(t, te, admin)
	adminKC := userKubeconfig(t, te, envtestAdmin)
	cfg, err := clientcmd.BuildConfigFromFlags("", adminKC)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmp := t.TempDir()
	sockPath := filepath.Join(tmp, "csi.sock")
	dataDir := filepath.Join(tmp, "data")
	const drv = "hostpath.csi.volsync.test"
	var driverLogs, snapshotterLogs, controllerLogs syncBuffer
	defer func() {
		if t.Failed() {
			t.Logf("csi-snapshotter:\n%s\nsnapshot-controller:\n%s", snapshotterLogs.String(), controllerLogs.String())
		}
	}()
	runDone := make(chan error, 1)
	go func() {
		runDone <- run(ctx, []string{
			"--endpoint=unix://" + sockPath, "--node-id=node-s", "--data-dir=" + dataDir,
			"--registration-dir=", "--provision", "--kubeconfig=" + driverKC,
		}, &driverLogs)
	}()
	startProcess(t, &controllerLogs, filepath.Join(dir, "snapshot-controller"), "--kubeconfig="+adminKC, "--leader-election=false")
	startProcess(t, &snapshotterLogs, filepath.Join(dir, "csi-snapshotter"),
		"--kubeconfig="+adminKC, "--csi-address="+sockPath, "--leader-election=false")

	reclaim := corev1.PersistentVolumeReclaimDelete
	if _, err := admin.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "hostpath"}, Provisioner: drv, ReclaimPolicy: &reclaim,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	className := "hostpath"
	claim := func(name string, source *corev1.TypedObjectReference) *corev1.PersistentVolumeClaim {
		c, err := admin.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
				"volume.kubernetes.io/storage-provisioner": drv,
			}},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: &className,
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceStorage: resource.MustParse("1Gi"),
				}},
				DataSourceRef: source,
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	srcPV := bindByHand(t, ctx, admin, claim("source", nil))
	srcDir := filepath.Join(dataDir, "volumes", srcPV.Spec.CSI.VolumeHandle)
	if err := treesum.BuildSample(srcDir); err != nil {
		t.Fatal(err)
	}
	want, _, err := treesum.Sum(srcDir, treesum.Options{})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := dyn.Resource(volumeSnapshotClasses).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": "hostpath"}, "driver": drv, "deletionPolicy": "Delete",
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(volumeSnapshots).Namespace("default").Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": "snap"},
		"spec": map[string]any{
			"volumeSnapshotClassName": "hostpath",
			"source":                  map[string]any{"persistentVolumeClaimName": "source"},
		},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var vs *unstructured.Unstructured
	poll(t, "VolumeSnapshot readyToUse", func() (bool, error) {
		var err error
		vs, err = dyn.Resource(volumeSnapshots).Namespace("default").Get(ctx, "snap", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, _, _ := unstructured.NestedBool(vs.Object, "status", "readyToUse")
		return ready, nil
	})
	restoreSize, _, _ := unstructured.NestedString(vs.Object, "status", "restoreSize")
	if q, err := resource.ParseQuantity(restoreSize); err != nil || q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("restoreSize = %q, want 1Gi (the source's capacity)", restoreSize)
	}
	// Change the source after the snapshot; the restore must show the snapshot's content.
	if err := os.WriteFile(filepath.Join(srcDir, "after-snapshot"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	group := "snapshot.storage.k8s.io"
	restorePV := bindByHand(t, ctx, admin, claim("restore", &corev1.TypedObjectReference{
		APIGroup: &group, Kind: "VolumeSnapshot", Name: "snap",
	}))
	got, _, err := treesum.Sum(filepath.Join(dataDir, "volumes", restorePV.Spec.CSI.VolumeHandle), treesum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatal("restored volume differs from the snapshot")
	}

	if err := dyn.Resource(volumeSnapshots).Namespace("default").Delete(ctx, "snap", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "snapshot data deleted through csi-snapshotter", func() (bool, error) {
		entries, err := os.ReadDir(filepath.Join(dataDir, "snapshots"))
		return err == nil && len(entries) == 0, err
	})

	cancel()
	select {
	case err := <-runDone:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}
