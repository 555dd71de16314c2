package provisioner

import (
	"context"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// EnsureCSIDriver creates the CSIDriver object if it is missing. Without it the kubelet and the
// attach/detach controller assume attachRequired=true and wait for a VolumeAttachment that no
// external-attacher will ever confirm. fsGroupPolicy File makes the kubelet apply a pod's
// fsGroup to the volume directory. An existing object is left as it is.
func EnsureCSIDriver(ctx context.Context, client kubernetes.Interface, name string) (*storagev1.CSIDriver, error) {
	if d, err := client.StorageV1().CSIDrivers().Get(ctx, name, metav1.GetOptions{}); err == nil {
		return d, nil
	} else if !apierrors.IsNotFound(err) {
		return nil, err
	}
	attach, podInfo := false, false
	policy := storagev1.FileFSGroupPolicy
	d := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: storagev1.CSIDriverSpec{
			AttachRequired:       &attach,
			PodInfoOnMount:       &podInfo,
			FSGroupPolicy:        &policy,
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
		},
	}
	created, err := client.StorageV1().CSIDrivers().Create(ctx, d, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return client.StorageV1().CSIDrivers().Get(ctx, name, metav1.GetOptions{})
	}
	return created, err
}
