package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/envtestassets"
)

func init() {
	// envtest logs through controller-runtime's logger; send it to klog like everything else.
	logf.SetLogger(klog.Background())
}

// startEnv starts kube-apiserver and etcd (with the CRDs in crdDirs) and returns an admin client.
func startEnv(t *testing.T, crdDirs ...string) (*envtest.Environment, *kubernetes.Clientset) {
	t.Helper()
	dir, err := envtestassets.Dir()
	if err != nil {
		t.Fatalf("envtest binaries: %v", err)
	}
	te := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		CRDDirectoryPaths:        crdDirs,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	adminCfg, err := te.Start()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	t.Cleanup(func() { _ = te.Stop() })
	return te, kubernetes.NewForConfigOrDie(adminCfg)
}

// driverKubeconfig writes a kubeconfig for a user that holds only deploy/rbac.yaml.
func driverKubeconfig(t *testing.T, te *envtest.Environment, admin *kubernetes.Clientset) string {
	t.Helper()
	ctx := context.Background()
	raw, err := os.ReadFile("deploy/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(raw, &role); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "csi-hostpath"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "csi-hostpath-driver"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return userKubeconfig(t, te, envtest.User{Name: "csi-hostpath-driver"})
}

func userKubeconfig(t *testing.T, te *envtest.Environment, u envtest.User) string {
	t.Helper()
	user, err := te.AddUser(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func poll(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last error: %v)", what, err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
}

// TestRunWithProvisionAgainstAPIServer runs the command (in-process) with --provision and a
// kubeconfig for a user that holds only deploy/rbac.yaml, against a real kube-apiserver.
// It checks the CSIDriver object, a provisioned PV (node affinity from the Node's hostname
// label, event recorded), deletion of the released PV and its data, and a clean stop.
func TestRunWithProvisionAgainstAPIServer(t *testing.T) {
	te, admin := startEnv(t)
	kcPath := driverKubeconfig(t, te, admin)
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: "node-m", Labels: map[string]string{"kubernetes.io/hostname": "node-m-host"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	const drv = "main.csi.test"
	dataDir := filepath.Join(tmp, "data")
	sockPath := filepath.Join(tmp, "csi.sock")
	var logs syncBuffer
	runDone := make(chan error, 1)
	go func() {
		runDone <- run(ctx, []string{
			"--endpoint=unix://" + sockPath, "--driver-name=" + drv, "--node-id=node-m",
			"--data-dir=" + dataDir, "--registration-dir=", "--provision", "--kubeconfig=" + kcPath,
		}, &logs)
	}()

	poll(t, "CSIDriver object", func() (bool, error) {
		d, err := admin.StorageV1().CSIDrivers().Get(ctx, drv, metav1.GetOptions{})
		return err == nil && d.Spec.AttachRequired != nil && !*d.Spec.AttachRequired, err
	})

	reclaim := corev1.PersistentVolumeReclaimDelete
	if _, err := admin.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "hostpath"}, Provisioner: drv, ReclaimPolicy: &reclaim,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	className := "hostpath"
	claim, err := admin.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Annotations: map[string]string{
			"volume.kubernetes.io/storage-provisioner": drv, // set by kube-controller-manager in a cluster
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &className,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Gi"),
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pvName := "pvc-" + string(claim.UID)
	var pv *corev1.PersistentVolume
	poll(t, "PV", func() (bool, error) {
		pv, err = admin.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
		return err == nil, err
	})
	if v := pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values; len(v) != 1 || v[0] != "node-m-host" {
		t.Errorf("node affinity values = %v, want [node-m-host] (read from the Node)", v)
	}
	volDir := filepath.Join(dataDir, "volumes", pv.Spec.CSI.VolumeHandle)
	if _, err := os.Stat(volDir); err != nil {
		t.Fatalf("volume directory: %v", err)
	}
	poll(t, "ProvisioningSucceeded event", func() (bool, error) {
		evs, err := admin.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=data"})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "ProvisioningSucceeded" {
				return true, nil
			}
		}
		return false, nil
	})

	// What kube-controller-manager does after the claim is deleted: drop the pvc-protection
	// finalizer, mark the PV Released, and (pv-protection) let the PV go once deleted.
	if err := admin.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "claim gone", func() (bool, error) {
		c, err := admin.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err == nil && len(c.Finalizers) > 0 {
			c.Finalizers = nil
			_, err = admin.CoreV1().PersistentVolumeClaims("default").Update(ctx, c, metav1.UpdateOptions{})
		}
		return false, err
	})
	pv, err = admin.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := admin.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "PV and volume deleted", func() (bool, error) {
		cur, err := admin.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
		if err == nil {
			if cur.DeletionTimestamp != nil && len(cur.Finalizers) > 0 {
				cur.Finalizers = nil
				_, err = admin.CoreV1().PersistentVolumes().Update(ctx, cur, metav1.UpdateOptions{})
			}
			return false, err
		}
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		_, statErr := os.Stat(volDir)
		return os.IsNotExist(statErr), statErr
	})

	cancel()
	select {
	case err := <-runDone:
		if err != nil {
			t.Fatalf("run: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
	if _, err := os.Lstat(sockPath); !os.IsNotExist(err) {
		t.Errorf("CSI socket left behind: %v", err)
	}
}

// envtestAdmin is a cluster-admin user for the helper processes.
var envtestAdmin = envtest.User{Name: "test-admin", Groups: []string{"system:masters"}}
