package jobs

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// CheckMoverVolumes verifies that the PVCs and Secrets the user's moverVolumes name exist in
// namespace (NFS exports and optional Secrets are not checked), so a mistake is reported in the
// condition instead of a mover pod waiting for its volume. It returns the first PVC
// moverVolume (nil if there is none): a mover that nothing else places runs next to its users.
// Secrets are read as metadata only.
func CheckMoverVolumes(ctx context.Context, r client.Reader, namespace string, cfg *v1alpha1.MoverConfig) (*corev1.PersistentVolumeClaim, error) {
	if cfg == nil {
		return nil, nil
	}
	var first *corev1.PersistentVolumeClaim
	for i, mv := range cfg.MoverVolumes {
		src := mv.VolumeSource
		switch {
		case src.PersistentVolumeClaim != nil:
			pvc := &corev1.PersistentVolumeClaim{}
			name := src.PersistentVolumeClaim.ClaimName
			if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, pvc); err != nil {
				return nil, moverVolumeError(i, mv, "PersistentVolumeClaim", name, err)
			}
			if first == nil {
				first = pvc
			}
		case src.Secret != nil && !ptr.Deref(src.Secret.Optional, false):
			secret := &metav1.PartialObjectMetadata{}
			secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
			name := src.Secret.SecretName
			if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
				return nil, moverVolumeError(i, mv, "Secret", name, err)
			}
		}
	}
	return first, nil
}

func moverVolumeError(i int, mv v1alpha1.MoverVolume, kind, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("moverVolumes[%d] (mountPath %s): %s %q not found", i, mv.MountPath, kind, name)
	}
	return fmt.Errorf("moverVolumes[%d] (mountPath %s): reading %s %q: %w", i, mv.MountPath, kind, name, err)
}
