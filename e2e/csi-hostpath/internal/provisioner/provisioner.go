package provisioner

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Annotations and labels shared with Kubernetes components.
const (
	AnnStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	AnnSelectedNode           = "volume.kubernetes.io/selected-node"
	AnnProvisionedBy          = "pv.kubernetes.io/provisioned-by"
	LabelHostname             = "kubernetes.io/hostname"
)

// Snapshot API resources, read through the dynamic client (no typed snapshot client dependency).
var (
	VolumeSnapshotGVR        = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	VolumeSnapshotContentGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotcontents"}
)

// Config configures a Provisioner.
type Config struct {
	DriverName string
	NodeID     string // name of the Kubernetes node the volumes live on
	Controller csi.ControllerServer
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	Workers    int           // default 2
	Resync     time.Duration // informer resync, default 5 minutes
}

// Provisioner watches PersistentVolumeClaims of the driver's StorageClasses, creates
// PersistentVolumes for them through the CSI Controller service, and deletes released
// PersistentVolumes with reclaim policy Delete together with their volumes.
type Provisioner struct {
	cfg      Config
	factory  informers.SharedInformerFactory
	pvcs     corelisters.PersistentVolumeClaimLister
	pvs      corelisters.PersistentVolumeLister
	classes  storagelisters.StorageClassLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	recorder record.EventRecorder
	events   record.EventBroadcaster

	hostOnce sync.Once
	hostname string
}

// New wires informers and the work queue; Run starts them.
func New(cfg Config) *Provisioner {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Minute
	}
	factory := informers.NewSharedInformerFactory(cfg.Client, cfg.Resync)
	pvcInf := factory.Core().V1().PersistentVolumeClaims()
	pvInf := factory.Core().V1().PersistentVolumes()
	scInf := factory.Storage().V1().StorageClasses()
	broadcaster := record.NewBroadcaster()
	p := &Provisioner{
		cfg:     cfg,
		factory: factory,
		pvcs:    pvcInf.Lister(),
		pvs:     pvInf.Lister(),
		classes: scInf.Lister(),
		synced:  []cache.InformerSynced{pvcInf.Informer().HasSynced, pvInf.Informer().HasSynced, scInf.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](200*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "csi-hostpath-provisioner"}),
		events:   broadcaster,
		recorder: broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: cfg.DriverName}),
	}
	enqueueClaim := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			p.queue.Add("claim/" + key)
		}
	}
	enqueueVolume := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			p.queue.Add("volume/" + key)
		}
	}
	_, _ = pvcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueClaim,
		UpdateFunc: func(_, obj any) { enqueueClaim(obj) },
	})
	_, _ = pvInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueVolume,
		UpdateFunc: func(_, obj any) { enqueueVolume(obj) },
	})
	// A claim that waited for its StorageClass is retried when the class appears.
	_, _ = scInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			sc, ok := obj.(*storagev1.StorageClass)
			if !ok || sc.Provisioner != cfg.DriverName {
				return
			}
			claims, _ := p.pvcs.List(labels.Everything())
			for _, c := range claims {
				if c.Spec.StorageClassName != nil && *c.Spec.StorageClassName == sc.Name {
					enqueueClaim(c)
				}
			}
		},
	})
	return p
}

// Run starts the informers and workers and blocks until ctx is cancelled.
func (p *Provisioner) Run(ctx context.Context) error {
	p.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: p.cfg.Client.CoreV1().Events("")})
	defer p.events.Shutdown()
	p.factory.Start(ctx.Done())
	defer p.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		return errors.New("provisioner: informer caches did not sync")
	}
	klog.InfoS("provisioner started", "driver", p.cfg.DriverName, "node", p.cfg.NodeID)
	var wg sync.WaitGroup
	for i := 0; i < p.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, p.worker, time.Second)
		}()
	}
	<-ctx.Done()
	p.queue.ShutDown()
	wg.Wait()
	return nil
}

func (p *Provisioner) worker(ctx context.Context) {
	for p.processNext(ctx) {
	}
}

func (p *Provisioner) processNext(ctx context.Context) bool {
	key, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(key)
	var err error
	switch {
	case strings.HasPrefix(key, "claim/"):
		err = p.syncClaim(ctx, strings.TrimPrefix(key, "claim/"))
	case strings.HasPrefix(key, "volume/"):
		err = p.syncVolume(ctx, strings.TrimPrefix(key, "volume/"))
	}
	if err != nil {
		klog.ErrorS(err, "sync failed, will retry", "key", key, "retries", p.queue.NumRequeues(key))
		p.queue.AddRateLimited(key)
		return true
	}
	p.queue.Forget(key)
	return true
}

// permanentError marks a problem that retrying cannot fix; it is reported as an event only.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func permanent(format string, args ...any) error {
	return &permanentError{msg: fmt.Sprintf(format, args...)}
}

// PVName is the name of the PersistentVolume provisioned for a claim (as external-provisioner names it).
func PVName(claim *corev1.PersistentVolumeClaim) string { return "pvc-" + string(claim.UID) }

// claimClass returns the claim's StorageClass name ("" for none).
func claimClass(claim *corev1.PersistentVolumeClaim) string {
	if claim.Spec.StorageClassName != nil {
		return *claim.Spec.StorageClassName
	}
	return ""
}

// provisionerAnnotation returns the provisioner the PV controller handed the claim to.
func provisionerAnnotation(claim *corev1.PersistentVolumeClaim) string {
	if a := claim.Annotations[AnnStorageProvisioner]; a != "" {
		return a
	}
	return claim.Annotations[AnnBetaStorageProvisioner]
}

// shouldProvision decides whether the claim waits for this driver to provision it now, and
// if not, why. class is the claim's StorageClass (nil if it does not exist). It mirrors
// external-provisioner: the kube-controller-manager's PV controller hands a claim over by
// setting the storage-provisioner annotation (for WaitForFirstConsumer only once the scheduler
// has set the selected-node annotation).
func (p *Provisioner) shouldProvision(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) (bool, string) {
	switch {
	case claim.DeletionTimestamp != nil:
		return false, "claim is being deleted"
	case claim.Spec.VolumeName != "":
		return false, "claim is bound or pre-bound"
	case claim.Status.Phase == corev1.ClaimBound || claim.Status.Phase == corev1.ClaimLost:
		return false, "claim phase " + string(claim.Status.Phase)
	}
	if ann := provisionerAnnotation(claim); ann != p.cfg.DriverName {
		return false, "storage-provisioner annotation is " + strconv.Quote(ann)
	}
	if kind, foreign := foreignDataSource(claim); foreign {
		// A volume populator's claim (e.g. a ReplicationDestination): the populator fills it
		// through a claim of its own, as with external-provisioner.
		return false, "data source " + kind + " belongs to a volume populator"
	}
	if class == nil {
		return false, "StorageClass " + strconv.Quote(claimClass(claim)) + " not found"
	}
	if class.Provisioner != p.cfg.DriverName {
		return false, "StorageClass provisioner is " + strconv.Quote(class.Provisioner)
	}
	if class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer {
		switch selected := claim.Annotations[AnnSelectedNode]; selected {
		case "":
			return false, "waiting for the scheduler to select a node"
		case p.cfg.NodeID:
		default:
			return false, "selected node " + strconv.Quote(selected) + " is not this node"
		}
	}
	return true, ""
}

func (p *Provisioner) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := p.pvcs.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if provisionerAnnotation(claim) != p.cfg.DriverName {
		return nil // the common case: not handed to this driver (yet)
	}
	var class *storagev1.StorageClass
	if c := claimClass(claim); c != "" {
		class, err = p.classes.Get(c)
		if apierrors.IsNotFound(err) {
			class = nil // requeued by the StorageClass handler when it appears
		} else if err != nil {
			return err
		}
	}
	if ok, reason := p.shouldProvision(claim, class); !ok {
		klog.V(4).InfoS("not provisioning", "claim", key, "reason", reason)
		return nil
	}
	if _, err := p.pvs.Get(PVName(claim)); err == nil {
		return nil // provisioned already, waiting for the PV controller to bind
	}
	err = p.provision(ctx, claim, class)
	var perm *permanentError
	if errors.As(err, &perm) {
		p.recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", perm.msg)
		return nil
	}
	if err != nil {
		p.recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", err.Error())
	}
	return err
}

func (p *Provisioner) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	if claim.Spec.VolumeMode != nil && *claim.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		return permanent("block volumes are not supported by %s", p.cfg.DriverName)
	}
	request, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok || request.Value() <= 0 {
		return permanent("claim has no storage request")
	}
	capRange := &csi.CapacityRange{RequiredBytes: request.Value()}
	if limit, ok := claim.Spec.Resources.Limits[corev1.ResourceStorage]; ok && limit.Value() > 0 {
		capRange.LimitBytes = limit.Value()
	}
	source, err := p.contentSource(ctx, claim)
	if err != nil {
		return err
	}
	var caps []*csi.VolumeCapability
	for _, m := range claim.Spec.AccessModes {
		caps = append(caps, &csi.VolumeCapability{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{MountFlags: class.MountOptions}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: accessMode(m)},
		})
	}
	if len(caps) == 0 {
		return permanent("claim has no access modes")
	}
	params := map[string]string{}
	for k, v := range class.Parameters {
		if !strings.HasPrefix(k, "csi.storage.k8s.io/") { // reserved for secrets and fsType
			params[k] = v
		}
	}
	key := claim.Namespace + "/" + claim.Name
	p.recorder.Eventf(claim, corev1.EventTypeNormal, "Provisioning", "External provisioner is provisioning volume for claim %q", key)
	resp, err := p.cfg.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:                PVName(claim),
		CapacityRange:       capRange,
		VolumeCapabilities:  caps,
		Parameters:          params,
		VolumeContentSource: source,
	})
	if err != nil {
		return fmt.Errorf("create volume: %w", err)
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	volumeMode := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        PVName(claim),
			Annotations: map[string]string{AnnProvisionedBy: p.cfg.DriverName},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{
				corev1.ResourceStorage: *resource.NewQuantity(resp.Volume.CapacityBytes, resource.BinarySI),
			},
			AccessModes: claim.Spec.AccessModes,
			ClaimRef: &corev1.ObjectReference{
				Kind:            "PersistentVolumeClaim",
				APIVersion:      "v1",
				Namespace:       claim.Namespace,
				Name:            claim.Name,
				UID:             claim.UID,
				ResourceVersion: claim.ResourceVersion,
			},
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    &volumeMode,
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key:      LabelHostname,
					Operator: corev1.NodeSelectorOpIn,
					Values:   []string{p.nodeHostname(ctx)},
				}}}},
			}},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver:           p.cfg.DriverName,
				VolumeHandle:     resp.Volume.VolumeId,
				VolumeAttributes: resp.Volume.VolumeContext,
			}},
		},
	}
	_, err = p.cfg.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create PersistentVolume %s: %w", pv.Name, err)
	}
	klog.InfoS("provisioned volume", "claim", key, "pv", pv.Name, "volumeHandle", resp.Volume.VolumeId,
		"capacity", resp.Volume.CapacityBytes, "source", source)
	p.recorder.Eventf(claim, corev1.EventTypeNormal, "ProvisioningSucceeded", "Successfully provisioned volume %s", pv.Name)
	return nil
}

func accessMode(m corev1.PersistentVolumeAccessMode) csi.VolumeCapability_AccessMode_Mode {
	switch m {
	case corev1.ReadWriteOnce:
		return csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
	case corev1.ReadOnlyMany:
		return csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
	case corev1.ReadWriteMany:
		return csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER
	case corev1.ReadWriteOncePod:
		return csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER
	}
	return csi.VolumeCapability_AccessMode_UNKNOWN
}

// nodeHostname returns the node's kubernetes.io/hostname label (what the node affinity must
// match), falling back to the node ID when the Node cannot be read.
func (p *Provisioner) nodeHostname(ctx context.Context) string {
	p.hostOnce.Do(func() {
		p.hostname = p.cfg.NodeID
		node, err := p.cfg.Client.CoreV1().Nodes().Get(ctx, p.cfg.NodeID, metav1.GetOptions{})
		if err != nil {
			klog.InfoS("cannot read own Node, using the node ID for node affinity", "node", p.cfg.NodeID, "err", err)
			return
		}
		if h := node.Labels[LabelHostname]; h != "" {
			p.hostname = h
		}
	})
	return p.hostname
}

// foreignDataSource reports whether the claim's dataSourceRef is of a kind this provisioner
// does not restore from (neither a PersistentVolumeClaim nor a VolumeSnapshot), and names it.
func foreignDataSource(claim *corev1.PersistentVolumeClaim) (string, bool) {
	ref := claim.Spec.DataSourceRef
	if ref == nil {
		return "", false
	}
	group := ""
	if ref.APIGroup != nil {
		group = *ref.APIGroup
	}
	switch {
	case group == "" && ref.Kind == "PersistentVolumeClaim", group == VolumeSnapshotGVR.Group && ref.Kind == "VolumeSnapshot":
		return "", false
	}
	return ref.Kind + "." + group, true
}

// contentSource resolves the claim's dataSourceRef (or dataSource) to a CSI content source:
// a PersistentVolumeClaim of this driver becomes a volume clone, a ready VolumeSnapshot whose
// content belongs to this driver becomes a snapshot restore.
func (p *Provisioner) contentSource(ctx context.Context, claim *corev1.PersistentVolumeClaim) (*csi.VolumeContentSource, error) {
	var group, kind, name string
	switch {
	case claim.Spec.DataSourceRef != nil:
		ref := claim.Spec.DataSourceRef
		if ref.Namespace != nil && *ref.Namespace != "" && *ref.Namespace != claim.Namespace {
			return nil, permanent("cross-namespace data sources are not supported")
		}
		kind, name = ref.Kind, ref.Name
		if ref.APIGroup != nil {
			group = *ref.APIGroup
		}
	case claim.Spec.DataSource != nil:
		ref := claim.Spec.DataSource
		kind, name = ref.Kind, ref.Name
		if ref.APIGroup != nil {
			group = *ref.APIGroup
		}
	default:
		return nil, nil
	}
	switch {
	case group == "" && kind == "PersistentVolumeClaim":
		src, err := p.cfg.Client.CoreV1().PersistentVolumeClaims(claim.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("clone source claim %s: %w", name, err)
		}
		if src.Spec.VolumeName == "" || src.Status.Phase != corev1.ClaimBound {
			return nil, fmt.Errorf("clone source claim %s is not bound yet", name)
		}
		pv, err := p.cfg.Client.CoreV1().PersistentVolumes().Get(ctx, src.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("clone source volume %s: %w", src.Spec.VolumeName, err)
		}
		if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != p.cfg.DriverName {
			return nil, permanent("clone source claim %s is not a %s volume", name, p.cfg.DriverName)
		}
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: pv.Spec.CSI.VolumeHandle},
		}}, nil
	case group == VolumeSnapshotGVR.Group && kind == "VolumeSnapshot":
		if p.cfg.Dynamic == nil {
			return nil, permanent("snapshot restore needs a dynamic client")
		}
		snap, err := p.cfg.Dynamic.Resource(VolumeSnapshotGVR).Namespace(claim.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("restore source VolumeSnapshot %s: %w", name, err)
		}
		if snap.GetDeletionTimestamp() != nil {
			return nil, permanent("restore source VolumeSnapshot %s is being deleted", name)
		}
		ready, _, _ := unstructured.NestedBool(snap.Object, "status", "readyToUse")
		contentName, _, _ := unstructured.NestedString(snap.Object, "status", "boundVolumeSnapshotContentName")
		if !ready || contentName == "" {
			return nil, fmt.Errorf("VolumeSnapshot %s is not ready to use yet", name)
		}
		content, err := p.cfg.Dynamic.Resource(VolumeSnapshotContentGVR).Get(ctx, contentName, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("VolumeSnapshotContent %s: %w", contentName, err)
		}
		if d, _, _ := unstructured.NestedString(content.Object, "spec", "driver"); d != p.cfg.DriverName {
			return nil, permanent("VolumeSnapshotContent %s belongs to driver %q", contentName, d)
		}
		handle, _, _ := unstructured.NestedString(content.Object, "status", "snapshotHandle")
		if handle == "" {
			return nil, fmt.Errorf("VolumeSnapshotContent %s has no snapshot handle yet", contentName)
		}
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: handle},
		}}, nil
	}
	// Another kind: a volume populator's business, not ours.
	return nil, permanent("unsupported data source %s/%s", group, kind)
}

// shouldDelete reports whether pv is a Released volume of this driver with reclaim policy Delete.
func (p *Provisioner) shouldDelete(pv *corev1.PersistentVolume) bool {
	return pv.Annotations[AnnProvisionedBy] == p.cfg.DriverName &&
		pv.Spec.CSI != nil && pv.Spec.CSI.Driver == p.cfg.DriverName &&
		pv.Status.Phase == corev1.VolumeReleased &&
		pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete
}

// syncVolume deletes a Released PersistentVolume of this driver with reclaim policy Delete,
// first its CSI volume, then the object.
func (p *Provisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.pvs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !p.shouldDelete(pv) {
		return nil
	}
	// Guard against a stale Released phase: the claim must really be gone.
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim, err := p.cfg.Client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err == nil && claim.UID == ref.UID {
			return fmt.Errorf("PersistentVolume %s is Released but claim %s/%s still exists", name, ref.Namespace, ref.Name)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if _, err := p.cfg.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle}); err != nil {
		p.recorder.Event(pv, corev1.EventTypeWarning, "VolumeFailedDelete", err.Error())
		return fmt.Errorf("delete volume %s: %w", pv.Spec.CSI.VolumeHandle, err)
	}
	if pv.DeletionTimestamp != nil {
		return nil // deleted already, waiting for its finalizers
	}
	uid := pv.UID
	err = p.cfg.Client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete PersistentVolume %s: %w", name, err)
	}
	klog.InfoS("deleted released volume", "pv", name, "volumeHandle", pv.Spec.CSI.VolumeHandle)
	return nil
}
