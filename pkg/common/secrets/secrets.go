package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// ErrInvalid is wrapped by every problem with a Secret the user must fix; those errors are
// also mover.ActionRequired, with the fix.
var ErrInvalid = errors.New("invalid Secret")

// Check reports why a Secret's data is not usable; its message must never contain a value.
type Check func(data map[string][]byte) error

// HasKeys is a Check that the data holds every one of keys, non-empty.
func HasKeys(keys ...string) Check {
	return func(data map[string][]byte) error {
		var missing []string
		for _, k := range keys {
			if len(data[k]) == 0 {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("missing key(s) %v (it needs %v)", missing, keys)
		}
		return nil
	}
}

// User reads the user's Secret name in namespace ns through users (live, once per
// synchronization) and checks it. field is the spec field naming it (for the message); unset,
// VolSync would generate keys.
func User(ctx context.Context, users client.Reader, ns, name, field string, check Check) (*corev1.Secret, error) {
	return read(ctx, users, ns, name, field, check, fmt.Sprintf(", or unset %s to have keys generated", field))
}

// Required is User for a Secret only the user can provide (e.g. rclone's configuration).
func Required(ctx context.Context, users client.Reader, ns, name, field string, check Check) (*corev1.Secret, error) {
	return read(ctx, users, ns, name, field, check, "")
}

func read(ctx context.Context, users client.Reader, ns, name, field string, check Check, alternative string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := users.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, mover.ActionRequired(fmt.Errorf("%w: Secret %s not found (%s)", ErrInvalid, name, field),
				fmt.Sprintf("create Secret %s in namespace %s%s", name, ns, alternative))
		}
		return nil, fmt.Errorf("reading Secret %s (%s): %w", name, field, err)
	}
	if err := check(s.Data); err != nil {
		return nil, mover.ActionRequired(fmt.Errorf("%w: Secret %s (%s): %w", ErrInvalid, name, field, err),
			fmt.Sprintf("correct Secret %s", name))
	}
	return s, nil
}

// Owned is a Secret VolSync generates for an object.
type Owned struct {
	// Name of the Secret, in Owner's namespace.
	Name  string
	Owner client.Object
	// Generate returns the data of a new Secret (crypto/rand for keys).
	Generate func() (map[string][]byte, error)
	// Check tells whether an existing Secret's data is still usable.
	Check Check
	// Derived: Generate is a pure function of other state (e.g. a subset of another generated
	// Secret), so an existing Secret is kept equal to it instead of checked.
	Derived bool
	// Field is the spec field that names a user Secret instead (for the hints).
	Field string
}

// Ensure returns the Secret, created once (owned by Owner, labelled so the controller's cache
// holds it) and afterwards read from c's cache. A Secret of that name VolSync did not create
// for Owner is an error; a generated one whose data was broken is an error that says to
// delete it (a new one is generated then).
func (o Owned) Ensure(ctx context.Context, c client.Client) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: o.Owner.GetNamespace(), Name: o.Name}, s)
	switch {
	case err == nil:
		return o.existing(ctx, c, s)
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading Secret %s: %w", o.Name, err)
	}
	data, err := o.Generate()
	if err != nil {
		return nil, err
	}
	s = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Owner.GetNamespace(),
			Labels: map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	if err := controllerutil.SetControllerReference(o.Owner, s, c.Scheme()); err != nil {
		return nil, err
	}
	if err := c.Create(ctx, s); err != nil {
		// AlreadyExists: a concurrent create (the cache shows it soon: a quiet retry), or a
		// Secret that is not VolSync's (the retry reports it after a while, with this hint).
		return nil, fmt.Errorf("creating Secret %s: %w; if that Secret is not VolSync's, rename it or set %s", o.Name, err, o.Field)
	}
	return s, nil
}

func (o Owned) existing(ctx context.Context, c client.Client, s *corev1.Secret) (*corev1.Secret, error) {
	if !metav1.IsControlledBy(s, o.Owner) {
		return nil, mover.ActionRequired(fmt.Errorf("%w: Secret %s exists and was not created for %s", ErrInvalid, o.Name, o.Owner.GetName()),
			fmt.Sprintf("set %s to use it, or rename it", o.Field))
	}
	if !o.Derived {
		if err := o.Check(s.Data); err != nil {
			return nil, mover.ActionRequired(fmt.Errorf("%w: generated Secret %s was modified (%w)", ErrInvalid, o.Name, err),
				fmt.Sprintf("delete Secret %s to get new keys", o.Name))
		}
		return s, nil
	}
	want, err := o.Generate()
	if err != nil {
		return nil, err
	}
	if equal(s.Data, want) {
		return s, nil
	}
	patch := client.MergeFromWithOptions(s.DeepCopy(), client.MergeFromWithOptimisticLock{})
	s.Data = want
	if err := c.Patch(ctx, s, patch); err != nil {
		return nil, fmt.Errorf("restoring Secret %s: %w", o.Name, err)
	}
	return s, nil
}

func equal(a, b map[string][]byte) bool {
	return slices.Equal(slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b))) &&
		!slices.ContainsFunc(slices.Collect(maps.Keys(a)), func(k string) bool { return !bytes.Equal(a[k], b[k]) })
}

// KeyRefs passes keys of Secret s to a mover as environment variables of the same names, by
// reference (values never appear in the Job). They are optional: a key removed later does not
// keep the pod from starting.
func KeyRefs(s *corev1.Secret, keys ...string) []corev1.EnvVar {
	env := make([]corev1.EnvVar, 0, len(keys))
	for _, k := range keys {
		env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: s.Name}, Key: k, Optional: ptr.To(true)}}})
	}
	return env
}

// KeysWithPrefix lists, sorted, the keys of Secret s that start with prefix, except those of
// skip.
func KeysWithPrefix(s *corev1.Secret, prefix string, skip map[string]bool) []string {
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		if strings.HasPrefix(k, prefix) && !skip[k] {
			keys = append(keys, k)
		}
	}
	return keys
}
