package rsync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/controller-runtime/pkg/client"

	contract "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/secrets"
)

// sshKeysField is the spec field naming a user's key Secret.
const sshKeysField = "sshKeys"

// Which keys each side's mover needs, and which the other side needs (the Secret a side
// publishes in status.rsync.sshKeys for its peer).
var (
	sourceKeys      = []string{contract.Source, contract.SourcePub, contract.DestinationPub}
	destinationKeys = []string{contract.Destination, contract.DestinationPub, contract.SourcePub}
	allKeys         = []string{contract.Source, contract.SourcePub, contract.Destination, contract.DestinationPub}
)

// keysFor are the keys the mover of role needs; peerKeys those its peer needs.
func keysFor(role naming.Role) (own, peer []string) {
	if role == naming.Source {
		return sourceKeys, destinationKeys
	}
	return destinationKeys, sourceKeys
}

// keySecrets are the names of the generated Secrets of an object (the reference's):
// volsync-rsync-<src|dst>-{main,src,dest}-<name>.
type keySecrets struct{ main, src, dest string }

func keySecretNames(role naming.Role, obj string) keySecrets {
	p := "volsync-rsync-" + role.Abbrev() + "-"
	return keySecrets{main: naming.Secret(p+"main-", obj), src: naming.Secret(p+"src-", obj), dest: naming.Secret(p+"dest-", obj)}
}

// own and peer are the names of the Secret this side's mover mounts and of the one it
// publishes for the other side.
func (k keySecrets) own(role naming.Role) (own, peer string) {
	if role == naming.Source {
		return k.src, k.dest
	}
	return k.dest, k.src
}

// newKeyPair returns a fresh ed25519 key: the private key in OpenSSH format and the public key
// as an authorized_keys line.
func newKeyPair() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating an ssh key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, nil, fmt.Errorf("encoding an ssh key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding an ssh public key: %w", err)
	}
	return pem.EncodeToMemory(block), ssh.MarshalAuthorizedKey(sshPub), nil
}

// newKeys generates the source's and the destination's key pairs.
func newKeys() (map[string][]byte, error) {
	data := map[string][]byte{}
	for _, k := range [][2]string{{contract.Source, contract.SourcePub}, {contract.Destination, contract.DestinationPub}} {
		priv, pub, err := newKeyPair()
		if err != nil {
			return nil, err
		}
		data[k[0]], data[k[1]] = priv, pub
	}
	return data, nil
}

// checkKeys returns the secrets.Check of a Secret that must hold keys: each present, private
// keys unencrypted and parseable, public keys as the mover reads them (publicKeys), and a
// private key's public key among the keys of its .pub in the same Secret. Messages name keys,
// never values.
func checkKeys(keys ...string) secrets.Check {
	return func(data map[string][]byte) error {
		if err := secrets.HasKeys(keys...)(data); err != nil {
			return err
		}
		pubs := map[string][]ssh.PublicKey{}
		for _, k := range keys {
			if k != contract.SourcePub && k != contract.DestinationPub {
				continue
			}
			pub, err := publicKeys(data[k])
			if err != nil {
				return fmt.Errorf("key %s is not an ssh public key: %w", k, err)
			}
			pubs[k] = pub
		}
		for _, k := range keys {
			if k != contract.Source && k != contract.Destination {
				continue
			}
			signer, err := ssh.ParsePrivateKey(data[k])
			var missing *ssh.PassphraseMissingError
			switch {
			case errors.As(err, &missing):
				return fmt.Errorf("key %s is encrypted; the mover needs a private key without a passphrase", k)
			case err != nil:
				return fmt.Errorf("key %s is not an ssh private key (OpenSSH or PEM format)", k)
			}
			if pub, ok := pubs[k+".pub"]; ok && !slices.ContainsFunc(pub, func(p ssh.PublicKey) bool {
				return bytes.Equal(p.Marshal(), signer.PublicKey().Marshal())
			}) {
				return fmt.Errorf("keys %s and %s.pub are not a pair", k, k)
			}
		}
		return nil
	}
}

// errPublicKeyFormat says what a public key value must be.
var errPublicKeyFormat = errors.New(`want one key a line, "<type> <base64> [comment]" as in a .pub file of ssh-keygen, without options or certificates`)

// publicKeys reads a public key value the way the mover does (images/rsync): every line that
// is not blank or a # comment is a key, without authorized_keys options (the mover sets its
// own), and there is at least one. A value the mover would refuse fails here, before a Job
// starts.
func publicKeys(data []byte) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pub, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil || len(options) > 0 || len(rest) > 0 {
			return nil, errPublicKeyFormat
		}
		if _, cert := pub.(*ssh.Certificate); cert {
			return nil, errPublicKeyFormat
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, errPublicKeyFormat
	}
	return keys, nil
}

// subset returns the Generate of a Secret holding keys of main's data.
func subset(main map[string][]byte, keys []string) func() (map[string][]byte, error) {
	return func() (map[string][]byte, error) {
		out := make(map[string][]byte, len(keys))
		for _, k := range keys {
			out[k] = main[k]
		}
		return out, nil
	}
}

// ensureKeys returns the Secret the mover of owner mounts and the one it publishes for its
// peer (empty with the user's Secret). With user set, that Secret is read and checked;
// otherwise the three Secrets are generated once: main with both pairs, and the two halves
// derived from it (kept equal to main).
func ensureKeys(ctx context.Context, env mover.Env, owner client.Object, role naming.Role, user *string) (own, publish string, err error) {
	ownKeys, peerKeys := keysFor(role)
	if user != nil && *user != "" {
		if _, err := secrets.User(ctx, env.Users, owner.GetNamespace(), *user, sshKeysField, checkKeys(ownKeys...)); err != nil {
			return "", "", err
		}
		return *user, "", nil
	}
	names := keySecretNames(role, owner.GetName())
	main, err := secrets.Owned{Name: names.main, Owner: owner, Field: sshKeysField, Generate: newKeys, Check: checkKeys(allKeys...)}.Ensure(ctx, env.Client)
	if err != nil {
		return "", "", err
	}
	own, publish = names.own(role)
	for name, keys := range map[string][]string{own: ownKeys, publish: peerKeys} {
		if _, err := (secrets.Owned{Name: name, Owner: owner, Field: sshKeysField, Generate: subset(main.Data, keys), Derived: true}).Ensure(ctx, env.Client); err != nil {
			return "", "", err
		}
	}
	return own, publish, nil
}
