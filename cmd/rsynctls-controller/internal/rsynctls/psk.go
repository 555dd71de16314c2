package rsynctls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/images/contract/psk"
)

const (
	// PSKKey is the key of the key Secret that holds the pre-shared key.
	PSKKey = "psk.txt"
	// pskIdentity is the identity of generated keys.
	pskIdentity = "volsync"
	// pskRandomBytes is the entropy of a generated key (128 hex digits).
	pskRandomBytes = 64
)

// ErrKeySecret is wrapped by every problem with a key Secret.
var ErrKeySecret = errors.New("invalid key Secret")

// keySecretName is the name of a generated key Secret (the reference's, on both sides).
func keySecretName(owner string) string { return "volsync-rsync-tls-" + owner }

// newPSK returns a fresh "volsync:<128 hex digits>" key from crypto/rand.
func newPSK() (string, error) {
	b := make([]byte, pskRandomBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a pre-shared key: %w", err)
	}
	return pskIdentity + ":" + hex.EncodeToString(b), nil
}

// checkPSK reports why data is not a key the mover accepts. It is the mover's own check
// (images/contract/psk), so a key accepted here never fails in the mover after a Job was
// started. Errors never contain key material.
func checkPSK(data []byte) error { return psk.Validate(data) }

// ensureKeySecret returns the name of the Secret holding the PSK: the user's (read through
// users, checked, never shown) or a generated one created once, owned by owner and read from
// c's cache. generated tells which.
func ensureKeySecret(ctx context.Context, c client.Client, users client.Reader, owner client.Object, user *string) (name string, generated bool, err error) {
	if user != nil && *user != "" {
		s := &corev1.Secret{}
		if err := users.Get(ctx, client.ObjectKey{Namespace: owner.GetNamespace(), Name: *user}, s); err != nil {
			if apierrors.IsNotFound(err) {
				return "", false, fmt.Errorf("%w: Secret %s not found (keySecret); create it with key %s", ErrKeySecret, *user, PSKKey)
			}
			return "", false, fmt.Errorf("reading key Secret %s: %w", *user, err)
		}
		data, ok := s.Data[PSKKey]
		if !ok {
			return "", false, fmt.Errorf("%w: Secret %s has no key %s", ErrKeySecret, *user, PSKKey)
		}
		if err := checkPSK(data); err != nil {
			return "", false, fmt.Errorf("%w: key %s of Secret %s: %w; want %s", ErrKeySecret, PSKKey, *user, err, psk.Format)
		}
		return *user, false, nil
	}

	name = keySecretName(owner.GetName())
	s := &corev1.Secret{}
	err = c.Get(ctx, client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}, s)
	switch {
	case err == nil:
		if !metav1.IsControlledBy(s, owner) {
			return "", false, fmt.Errorf("%w: Secret %s exists and was not created for %s; set keySecret to use it", ErrKeySecret, name, owner.GetName())
		}
		if err := checkPSK(s.Data[PSKKey]); err != nil {
			return "", false, fmt.Errorf("%w: generated Secret %s was modified (%s: %w); delete it to get a new key", ErrKeySecret, name, PSKKey, err)
		}
		return name, true, nil
	case !apierrors.IsNotFound(err):
		return "", false, fmt.Errorf("reading key Secret %s: %w", name, err)
	}
	psk, err := newPSK()
	if err != nil {
		return "", false, err
	}
	s = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: owner.GetNamespace(),
			Labels: map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{PSKKey: []byte(psk)},
	}
	if err := controllerutil.SetControllerReference(owner, s, c.Scheme()); err != nil {
		return "", false, err
	}
	if err := c.Create(ctx, s); err != nil {
		// AlreadyExists: a concurrent create (the cache shows it soon: a quiet retry), or a
		// Secret that is not VolSync's (the retry reports it after a while, with this hint).
		return "", false, fmt.Errorf("creating key Secret %s: %w; if that Secret is not VolSync's, rename it or set keySecret", name, err)
	}
	return name, true, nil
}
