package customca

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// volumeName is the pod volume of the CA bundle (the reference's).
const volumeName = "custom-ca"

// Mount is the CA bundle in the mover pod: its volume, mount and the environment variable
// naming the file.
type Mount struct {
	Volume corev1.Volume
	Mount  corev1.VolumeMount
	Env    corev1.EnvVar
}

// Where the bundle goes in the pod: dir/file, named by the environment variable env.
type Where struct {
	Dir, File, Env string
}

// Enabled reports whether spec names a CA bundle: a key and a Secret or ConfigMap (the
// reference ignores customCA without a key; the CRD refuses a name without one).
func Enabled(spec v1alpha1.CustomCASpec) bool {
	return spec.Key != "" && (spec.SecretName != "" || spec.ConfigMapName != "")
}

// Ensure checks that the Secret or ConfigMap of spec (read through users, live once per
// synchronization) holds a non-empty spec.Key and returns how to mount it at w; nil when spec
// names no CA. field is the spec field, for messages (e.g. "spec.rclone.customCA").
func Ensure(ctx context.Context, users client.Reader, ns string, spec v1alpha1.CustomCASpec, field string, w Where) (*Mount, error) {
	if !Enabled(spec) {
		return nil, nil
	}
	items := []corev1.KeyToPath{{Key: spec.Key, Path: w.File}}
	m := &Mount{
		Mount: corev1.VolumeMount{Name: volumeName, MountPath: w.Dir, ReadOnly: true},
		Env:   corev1.EnvVar{Name: w.Env, Value: w.Dir + "/" + w.File},
	}
	var kind, name string
	var has bool
	if spec.SecretName != "" {
		kind, name = "Secret", spec.SecretName
		s := &corev1.Secret{}
		if err := get(ctx, users, ns, name, kind, field, s); err != nil {
			return nil, err
		}
		has = len(s.Data[spec.Key]) > 0
		m.Volume = corev1.Volume{Name: volumeName, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: name, Items: items, DefaultMode: ptr.To(caFileMode)}}}
	} else {
		kind, name = "ConfigMap", spec.ConfigMapName
		c := &corev1.ConfigMap{}
		if err := get(ctx, users, ns, name, kind, field, c); err != nil {
			return nil, err
		}
		has = c.Data[spec.Key] != "" || len(c.BinaryData[spec.Key]) > 0
		m.Volume = corev1.Volume{Name: volumeName, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Items: items, DefaultMode: ptr.To(caFileMode)}}}
	}
	if !has {
		return nil, mover.ActionRequired(fmt.Errorf("%s %s (%s) has no key %q", kind, name, field, spec.Key),
			fmt.Sprintf("add the CA bundle (PEM) under key %q of %s %s, or correct %s.key", spec.Key, kind, name, field))
	}
	return m, nil
}

// caFileMode: a CA bundle is public; every uid the mover may run as reads it.
const caFileMode int32 = 0o444

func get(ctx context.Context, users client.Reader, ns, name, kind, field string, obj client.Object) error {
	if err := users.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return mover.ActionRequired(fmt.Errorf("%s %s (%s) not found", kind, name, field),
				fmt.Sprintf("create %s %s in namespace %s with the CA bundle, or correct %s", kind, name, ns, field))
		}
		return fmt.Errorf("reading %s %s (%s): %w", kind, name, field, err)
	}
	return nil
}
