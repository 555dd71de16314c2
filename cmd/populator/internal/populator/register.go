package populator

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// VolumePopulatorGVK is the kind of kubernetes-csi/volume-data-source-validator's registry of
// data source kinds.
var VolumePopulatorGVK = schema.GroupVersionKind{Group: "populator.storage.k8s.io", Version: "v1beta1", Kind: "VolumePopulator"}

// Registration registers ReplicationDestination as a data source kind (the VolumePopulator
// PopulatorName), if the VolumePopulator CRD is installed. Population does not need it; the
// validator, when installed, warns about PVCs whose data source kind nobody registered.
type Registration struct {
	Client client.Client
	Mapper meta.RESTMapper

	mu   sync.Mutex
	done bool
}

// Ensure creates or corrects the VolumePopulator. registered is false, without an error,
// when the CRD is not installed; the next call looks again (a CRD installed later is found
// when the next PVC is populated).
func (g *Registration) Ensure(ctx context.Context) (registered bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return true, nil
	}
	if _, err := g.Mapper.RESTMapping(VolumePopulatorGVK.GroupKind(), VolumePopulatorGVK.Version); err != nil {
		if meta.IsNoMatchError(err) {
			return false, nil
		}
		return false, fmt.Errorf("looking up the VolumePopulator kind: %w", err)
	}
	want := map[string]any{"group": v1alpha1.GroupVersion.Group, "kind": rdKind}
	vp := &unstructured.Unstructured{}
	vp.SetGroupVersionKind(VolumePopulatorGVK)
	err = g.Client.Get(ctx, client.ObjectKey{Name: PopulatorName}, vp)
	switch {
	case apierrors.IsNotFound(err):
		vp.SetName(PopulatorName)
		vp.SetLabels(map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue})
		vp.Object["sourceKind"] = want
		if err := g.Client.Create(ctx, vp); err != nil && !apierrors.IsAlreadyExists(err) {
			return false, fmt.Errorf("creating VolumePopulator %s: %w", PopulatorName, err)
		}
		log.FromContext(ctx).Info("Registered ReplicationDestination as a volume data source", "volumePopulator", PopulatorName)
	case err != nil:
		return false, fmt.Errorf("reading VolumePopulator %s: %w", PopulatorName, err)
	default:
		got, _, _ := unstructured.NestedStringMap(vp.Object, "sourceKind")
		if got["group"] != want["group"] || got["kind"] != want["kind"] {
			base := vp.DeepCopy()
			vp.Object["sourceKind"] = want
			if err := g.Client.Patch(ctx, vp, client.MergeFrom(base)); err != nil {
				return false, fmt.Errorf("correcting VolumePopulator %s: %w", PopulatorName, err)
			}
		}
	}
	g.done = true
	return true, nil
}

// Start registers at start-up (a manager Runnable, run by the leader); a missing CRD is logged.
func (g *Registration) Start(ctx context.Context) error {
	ok, err := g.Ensure(ctx)
	switch {
	case err != nil:
		log.FromContext(ctx).Error(err, "Registering ReplicationDestination as a volume data source failed; retried with the next PVC")
	case !ok:
		log.FromContext(ctx).Info("The VolumePopulator CRD is not installed: ReplicationDestination is not registered as a data source kind; PVCs are populated anyway")
	}
	return nil
}
