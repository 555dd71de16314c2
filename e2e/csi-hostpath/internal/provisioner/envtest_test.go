package provisioner_test

// These tests run the provisioner against a real kube-apiserver and etcd (controller-runtime
// envtest). There is no kube-controller-manager, scheduler or snapshot-controller, so each test
// does by hand, and only, what those would do: set the storage-provisioner / selected-node
// annotations, bind claim and volume, remove the protection finalizers, mark a volume
// Released, and fill in VolumeSnapshot status. The provisioner's own work is what is checked.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/driver"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/envtestassets"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/provisioner"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/treesum"
)

const (
	nodeName     = "node-a"
	nodeHostname = "node-a-host" // the node's kubernetes.io/hostname label differs from its name on purpose
	waitTimeout  = 60 * time.Second
)

var (
	envOnce  sync.Once
	envErr   error
	testEnv  *envtest.Environment
	restCfg  *rest.Config
	kube     kubernetes.Interface
	dyn      dynamic.Interface
	envStart time.Time
)

func init() {
	// envtest logs through controller-runtime's logger; send it to klog like everything else.
	logf.SetLogger(klog.Background())
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testEnv != nil {
		_ = testEnv.Stop()
	}
	os.Exit(code)
}

func snapshotCRD(kind, plural string, scope apiextensionsv1.ResourceScope) *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{
			Name: plural + ".snapshot.storage.k8s.io",
			// *.k8s.io groups need this annotation; the real external-snapshotter CRDs carry it too.
			Annotations: map[string]string{"api-approved.kubernetes.io": "https://github.com/kubernetes-csi/external-snapshotter/pull/814"},
		},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "snapshot.storage.k8s.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
			Scope: scope,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &preserve,
				}},
			}},
		},
	}
}

// env starts the shared API server on first use.
func env(t *testing.T) {
	t.Helper()
	envOnce.Do(func() {
		dir, err := envtestassets.Dir()
		if err != nil {
			envErr = err
			return
		}
		testEnv = &envtest.Environment{
			BinaryAssetsDirectory: dir,
			CRDs: []*apiextensionsv1.CustomResourceDefinition{
				snapshotCRD("VolumeSnapshot", "volumesnapshots", apiextensionsv1.NamespaceScoped),
				snapshotCRD("VolumeSnapshotContent", "volumesnapshotcontents", apiextensionsv1.ClusterScoped),
			},
			ControlPlaneStartTimeout: 2 * time.Minute,
		}
		envStart = time.Now()
		restCfg, envErr = testEnv.Start()
		if envErr != nil {
			return
		}
		if kube, envErr = kubernetes.NewForConfig(restCfg); envErr != nil {
			return
		}
		if dyn, envErr = dynamic.NewForConfig(restCfg); envErr != nil {
			return
		}
		_, envErr = kube.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name: nodeName, Labels: map[string]string{provisioner.LabelHostname: nodeHostname},
		}}, metav1.CreateOptions{})
	})
	if envErr != nil {
		t.Fatalf("envtest: %v", envErr)
	}
}

// fixture is one test's driver, provisioner, namespace and StorageClasses (names unique per test).
type fixture struct {
	t      *testing.T
	ctx    context.Context
	d      *driver.Driver
	name   string // driver name
	ns     string
	prefix string
}

func newFixture(t *testing.T) *fixture {
	env(t)
	ctx, cancel := context.WithCancel(context.Background())
	prefix := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	f := &fixture{t: t, ctx: ctx, name: prefix + ".csi.test", ns: prefix, prefix: prefix}
	d, err := driver.New(driver.Options{Name: f.name, NodeID: nodeName, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f.d = d
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := provisioner.New(provisioner.Config{
		DriverName: f.name, NodeID: nodeName, Controller: d.Controller(), Client: kube, Dynamic: dyn,
	})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("provisioner Run: %v", err)
		}
	})
	return f
}

func (f *fixture) class(name string, mode storagev1.VolumeBindingMode, reclaim corev1.PersistentVolumeReclaimPolicy) *storagev1.StorageClass {
	f.t.Helper()
	sc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: f.prefix + "-" + name},
		Provisioner:       f.name,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &mode,
		Parameters:        map[string]string{"foo": "bar"},
	}
	sc, err := kube.StorageV1().StorageClasses().Create(f.ctx, sc, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return sc
}

type claimOpt func(*corev1.PersistentVolumeClaim)

// handedOver sets what the PV controller sets when it hands a claim to an external provisioner.
func handedOver(driverName string) claimOpt {
	return func(c *corev1.PersistentVolumeClaim) {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[provisioner.AnnStorageProvisioner] = driverName
		c.Annotations[provisioner.AnnBetaStorageProvisioner] = driverName
	}
}

func withDataSourceRef(group, kind, name string) claimOpt {
	return func(c *corev1.PersistentVolumeClaim) {
		var g *string
		if group != "" {
			g = &group
		}
		c.Spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: g, Kind: kind, Name: name}
	}
}

func (f *fixture) claim(name, class, size string, opts ...claimOpt) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse(size),
			}},
		},
	}
	for _, o := range opts {
		o(c)
	}
	c, err := kube.CoreV1().PersistentVolumeClaims(f.ns).Create(f.ctx, c, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// eventually polls cond every 100ms until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last error: %v)", what, lastErr)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not synchronisation
	}
}

func (f *fixture) waitPV(c *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	f.t.Helper()
	var pv *corev1.PersistentVolume
	eventually(f.t, "PV for claim "+c.Name, func() (bool, error) {
		var err error
		pv, err = kube.CoreV1().PersistentVolumes().Get(f.ctx, provisioner.PVName(c), metav1.GetOptions{})
		return err == nil, err
	})
	return pv
}

// bind does what the PV controller does once a provisioned PV points at its claim.
func (f *fixture) bind(c *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	c, err := kube.CoreV1().PersistentVolumeClaims(f.ns).Get(f.ctx, c.Name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	c.Spec.VolumeName = pv.Name
	if c, err = kube.CoreV1().PersistentVolumeClaims(f.ns).Update(f.ctx, c, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	c.Status.Phase = corev1.ClaimBound
	c.Status.AccessModes = pv.Spec.AccessModes
	c.Status.Capacity = pv.Spec.Capacity
	if c, err = kube.CoreV1().PersistentVolumeClaims(f.ns).UpdateStatus(f.ctx, c, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	pv, err = kube.CoreV1().PersistentVolumes().Get(f.ctx, pv.Name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeBound
	if _, err := kube.CoreV1().PersistentVolumes().UpdateStatus(f.ctx, pv, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// provisionBound creates a claim, waits for its PV and binds them.
func (f *fixture) provisionBound(name, class, size string, opts ...claimOpt) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume) {
	f.t.Helper()
	c := f.claim(name, class, size, append(opts, handedOver(f.name))...)
	pv := f.waitPV(c)
	return f.bind(c, pv), pv
}

func sumDir(t *testing.T, dir string) string {
	t.Helper()
	s, _, err := treesum.Sum(dir, treesum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProvisionBindReleaseDelete(t *testing.T) {
	f := newFixture(t)
	sc := f.class("immediate", storagev1.VolumeBindingImmediate, corev1.PersistentVolumeReclaimDelete)

	// A claim the PV controller has not handed over yet gets nothing; once the annotation
	// appears (as kube-controller-manager sets it), it is provisioned.
	c := f.claim("data", sc.Name, "50Mi")
	c.Annotations = map[string]string{}
	handedOver(f.name)(c)
	c, err := kube.CoreV1().PersistentVolumeClaims(f.ns).Update(f.ctx, c, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv := f.waitPV(c)

	if got := pv.Annotations[provisioner.AnnProvisionedBy]; got != f.name {
		t.Errorf("provisioned-by annotation = %q", got)
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != f.name || pv.Spec.CSI.VolumeHandle == "" {
		t.Fatalf("CSI source = %+v", pv.Spec.CSI)
	}
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.Namespace != f.ns || ref.Name != "data" || ref.UID != c.UID || ref.Kind != "PersistentVolumeClaim" {
		t.Errorf("claimRef = %+v", ref)
	}
	if pv.Spec.StorageClassName != sc.Name {
		t.Errorf("storageClassName = %q", pv.Spec.StorageClassName)
	}
	if len(pv.Spec.AccessModes) != 1 || pv.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("accessModes = %v", pv.Spec.AccessModes)
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	if want := resource.MustParse("50Mi"); capacity.Cmp(want) < 0 {
		t.Errorf("capacity %s < request %s", capacity.String(), want.String())
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("reclaim policy = %s", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	if pv.Spec.VolumeMode == nil || *pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("volumeMode = %v", pv.Spec.VolumeMode)
	}
	terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 ||
		terms[0].MatchExpressions[0].Key != provisioner.LabelHostname ||
		terms[0].MatchExpressions[0].Operator != corev1.NodeSelectorOpIn ||
		strings.Join(terms[0].MatchExpressions[0].Values, ",") != nodeHostname {
		t.Errorf("node affinity = %+v, want %s in [%s]", terms, provisioner.LabelHostname, nodeHostname)
	}
	volDir := f.d.VolumePath(pv.Spec.CSI.VolumeHandle)
	if fi, err := os.Stat(volDir); err != nil || !fi.IsDir() {
		t.Fatalf("volume directory %s: %v", volDir, err)
	}
	eventually(t, "ProvisioningSucceeded event", func() (bool, error) {
		evs, err := kube.CoreV1().Events(f.ns).List(f.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=data"})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "ProvisioningSucceeded" && strings.Contains(e.Message, pv.Name) {
				return true, nil
			}
		}
		return false, nil
	})
	if err := os.WriteFile(filepath.Join(volDir, "file"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}

	c = f.bind(c, pv)

	// Delete the claim: the pvc-protection controller would drop its finalizer once no pod uses it.
	if err := kube.CoreV1().PersistentVolumeClaims(f.ns).Delete(f.ctx, c.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "claim gone", func() (bool, error) {
		cur, err := kube.CoreV1().PersistentVolumeClaims(f.ns).Get(f.ctx, c.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if len(cur.Finalizers) > 0 {
			cur.Finalizers = nil
			_, err = kube.CoreV1().PersistentVolumeClaims(f.ns).Update(f.ctx, cur, metav1.UpdateOptions{})
		}
		return false, err
	})
	// The volume is still there while the PV is Bound.
	if _, err := os.Stat(volDir); err != nil {
		t.Fatalf("volume removed before the PV was released: %v", err)
	}
	// The PV controller marks the PV Released once its claim is gone.
	pv, err = kube.CoreV1().PersistentVolumes().Get(f.ctx, pv.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := kube.CoreV1().PersistentVolumes().UpdateStatus(f.ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "PV deleted and volume directory removed", func() (bool, error) {
		cur, err := kube.CoreV1().PersistentVolumes().Get(f.ctx, pv.Name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
		if err == nil {
			if cur.DeletionTimestamp == nil {
				return false, nil
			}
			if len(cur.Finalizers) > 0 { // pv-protection, removed by its controller in a real cluster
				cur.Finalizers = nil
				_, err = kube.CoreV1().PersistentVolumes().Update(f.ctx, cur, metav1.UpdateOptions{})
			}
			return false, err
		}
		_, statErr := os.Stat(volDir)
		return os.IsNotExist(statErr), statErr
	})
}

func TestProvisionRetainIsNotDeleted(t *testing.T) {
	f := newFixture(t)
	sc := f.class("retain", storagev1.VolumeBindingImmediate, corev1.PersistentVolumeReclaimRetain)
	_, pv := f.provisionBound("kept", sc.Name, "10Mi")
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Fatalf("reclaim policy = %s, want Retain from the StorageClass", pv.Spec.PersistentVolumeReclaimPolicy)
	}
}

func TestProvisionClone(t *testing.T) {
	f := newFixture(t)
	sc := f.class("clone", storagev1.VolumeBindingImmediate, corev1.PersistentVolumeReclaimDelete)

	src := f.claim("source", sc.Name, "20Mi", handedOver(f.name))
	srcPV := f.waitPV(src)
	srcDir := f.d.VolumePath(srcPV.Spec.CSI.VolumeHandle)
	if err := treesum.BuildSample(srcDir); err != nil {
		t.Fatal(err)
	}
	want := sumDir(t, srcDir)

	// The clone is requested before its source is bound: the provisioner retries until it is.
	clone := f.claim("clone", sc.Name, "30Mi", handedOver(f.name), withDataSourceRef("", "PersistentVolumeClaim", "source"))
	f.bind(src, srcPV)
	clonePV := f.waitPV(clone)

	if clonePV.Spec.CSI.VolumeHandle == srcPV.Spec.CSI.VolumeHandle {
		t.Fatal("clone shares the source's volume handle")
	}
	cloneDir := f.d.VolumePath(clonePV.Spec.CSI.VolumeHandle)
	if got := sumDir(t, cloneDir); got != want {
		t.Fatal("clone content differs from the source")
	}
	capacity := clonePV.Spec.Capacity[corev1.ResourceStorage]
	if capacity.Cmp(resource.MustParse("30Mi")) < 0 {
		t.Errorf("clone capacity %s < request 30Mi", capacity.String())
	}
	// The clone is independent of its source.
	if err := os.WriteFile(filepath.Join(srcDir, "later"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := sumDir(t, cloneDir); got != want {
		t.Fatal("clone changed when the source changed")
	}
}

func TestProvisionRestoreFromSnapshot(t *testing.T) {
	f := newFixture(t)
	sc := f.class("restore", storagev1.VolumeBindingImmediate, corev1.PersistentVolumeReclaimDelete)
	_, srcPV := f.provisionBound("source", sc.Name, "20Mi")
	srcDir := f.d.VolumePath(srcPV.Spec.CSI.VolumeHandle)
	if err := treesum.BuildSample(srcDir); err != nil {
		t.Fatal(err)
	}
	want := sumDir(t, srcDir)

	// What csi-snapshotter does: CreateSnapshot on the driver, handle into the content's status.
	snap, err := f.d.Controller().CreateSnapshot(f.ctx, &csi.CreateSnapshotRequest{
		Name: "snapshot-" + f.prefix, SourceVolumeId: srcPV.Spec.CSI.VolumeHandle,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The source changes after the snapshot; the restore must have the snapshot's content.
	if err := os.WriteFile(filepath.Join(srcDir, "after-snapshot"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	contentName := "snapcontent-" + f.prefix
	content := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1",
		"kind":       "VolumeSnapshotContent",
		"metadata":   map[string]any{"name": contentName},
		"spec": map[string]any{
			"driver":            f.name,
			"deletionPolicy":    "Delete",
			"source":            map[string]any{"volumeHandle": srcPV.Spec.CSI.VolumeHandle},
			"volumeSnapshotRef": map[string]any{"name": "snap", "namespace": f.ns},
		},
	}}
	content, err = dyn.Resource(provisioner.VolumeSnapshotContentGVR).Create(f.ctx, content, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1",
		"kind":       "VolumeSnapshot",
		"metadata":   map[string]any{"name": "snap", "namespace": f.ns},
		"spec":       map[string]any{"source": map[string]any{"persistentVolumeClaimName": "source"}},
	}}
	vs, err = dyn.Resource(provisioner.VolumeSnapshotGVR).Namespace(f.ns).Create(f.ctx, vs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The restore is requested while the snapshot is not ready: the provisioner waits.
	restore := f.claim("restore", sc.Name, "40Mi", handedOver(f.name),
		withDataSourceRef("snapshot.storage.k8s.io", "VolumeSnapshot", "snap"))

	// What the snapshot controllers do when the snapshot is cut.
	content.Object["status"] = map[string]any{
		"snapshotHandle": snap.Snapshot.SnapshotId, "readyToUse": true, "restoreSize": snap.Snapshot.SizeBytes,
	}
	if _, err := dyn.Resource(provisioner.VolumeSnapshotContentGVR).UpdateStatus(f.ctx, content, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	vs.Object["status"] = map[string]any{
		"boundVolumeSnapshotContentName": contentName, "readyToUse": true, "restoreSize": "20Mi",
	}
	if _, err := dyn.Resource(provisioner.VolumeSnapshotGVR).Namespace(f.ns).UpdateStatus(f.ctx, vs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	pv := f.waitPV(restore)
	if got := sumDir(t, f.d.VolumePath(pv.Spec.CSI.VolumeHandle)); got != want {
		t.Fatal("restored volume differs from the snapshot")
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	if capacity.Cmp(resource.MustParse("40Mi")) < 0 {
		t.Errorf("restore capacity %s < request 40Mi", capacity.String())
	}
}

func TestProvisionWaitForFirstConsumer(t *testing.T) {
	f := newFixture(t)
	sc := f.class("wffc", storagev1.VolumeBindingWaitForFirstConsumer, corev1.PersistentVolumeReclaimDelete)
	// With WaitForFirstConsumer the PV controller hands over only after the scheduler picked a node.
	c := f.claim("late", sc.Name, "10Mi", handedOver(f.name), func(c *corev1.PersistentVolumeClaim) {
		c.Annotations[provisioner.AnnSelectedNode] = nodeName
	})
	pv := f.waitPV(c)
	if pv.Spec.CSI.Driver != f.name {
		t.Fatalf("driver = %s", pv.Spec.CSI.Driver)
	}
}

func TestEnsureCSIDriver(t *testing.T) {
	env(t)
	ctx := context.Background()
	name := "ensure.csi.test"
	d, err := provisioner.EnsureCSIDriver(ctx, kube, name)
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.AttachRequired == nil || *d.Spec.AttachRequired {
		t.Fatalf("attachRequired = %v, want false", d.Spec.AttachRequired)
	}
	if d.Spec.FSGroupPolicy == nil || *d.Spec.FSGroupPolicy != storagev1.FileFSGroupPolicy {
		t.Fatalf("fsGroupPolicy = %v", d.Spec.FSGroupPolicy)
	}
	// A second call keeps the existing object.
	again, err := provisioner.EnsureCSIDriver(ctx, kube, name)
	if err != nil || again.UID != d.UID {
		t.Fatalf("second EnsureCSIDriver = %v, %v", again, err)
	}
}
