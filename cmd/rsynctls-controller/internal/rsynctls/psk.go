package rsynctls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/images/contract/psk"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/secrets"
)

const (
	// PSKKey is the key of the key Secret that holds the pre-shared key.
	PSKKey = "psk.txt"
	// pskIdentity is the identity of generated keys.
	pskIdentity = "volsync"
	// pskRandomBytes is the entropy of a generated key (128 hex digits).
	pskRandomBytes = 64
	// keySecretField is the spec field naming a user's key Secret.
	keySecretField = "keySecret"
)

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

// checkSecret is the secrets.Check of a key Secret.
func checkSecret(data map[string][]byte) error {
	v, ok := data[PSKKey]
	if !ok {
		return fmt.Errorf("no key %s", PSKKey)
	}
	if err := checkPSK(v); err != nil {
		return fmt.Errorf("key %s: %w; want %s", PSKKey, err, psk.Format)
	}
	return nil
}

// ensureKeySecret returns the name of the Secret holding the PSK: the user's (read once per
// synchronization, checked, never shown) or a generated one created once, owned by owner.
// generated tells which.
func ensureKeySecret(ctx context.Context, env mover.Env, owner client.Object, user *string) (name string, generated bool, err error) {
	if user != nil && *user != "" {
		if _, err := secrets.User(ctx, env.Users, owner.GetNamespace(), *user, keySecretField, checkSecret); err != nil {
			return "", false, err
		}
		return *user, false, nil
	}
	s, err := secrets.Owned{
		Name: keySecretName(owner.GetName()), Owner: owner, Field: keySecretField, Check: checkSecret,
		Generate: func() (map[string][]byte, error) {
			key, err := newPSK()
			return map[string][]byte{PSKKey: []byte(key)}, err
		},
	}.Ensure(ctx, env.Client)
	if err != nil {
		return "", false, err
	}
	return s.Name, true, nil
}
