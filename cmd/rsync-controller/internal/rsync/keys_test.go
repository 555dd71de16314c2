package rsync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"maps"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	contract "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

// generated returns the data of a main Secret (both pairs), failing the test on an error.
func generated(t *testing.T) map[string][]byte {
	t.Helper()
	data, err := newKeys()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkPair checks that private is an unencrypted OpenSSH ed25519 key and public its
// authorized_keys line.
func checkPair(t *testing.T, name string, private, public []byte) {
	t.Helper()
	if block, _ := pem.Decode(private); block == nil || block.Type != "OPENSSH PRIVATE KEY" {
		t.Fatalf("%s is not an OpenSSH private key", name)
	}
	raw, err := ssh.ParseRawPrivateKey(private)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	priv, ok := raw.(*ed25519.PrivateKey)
	if !ok {
		t.Fatalf("%s is a %T, want ed25519", name, raw)
	}
	pub, comment, options, rest, err := ssh.ParseAuthorizedKey(public)
	if err != nil || comment != "" || options != nil || len(rest) != 0 {
		t.Fatalf("%s.pub is not one authorized_keys line without comment or options: %v %q %v %q", name, err, comment, options, rest)
	}
	if pub.Type() != ssh.KeyAlgoED25519 || !bytes.Equal(pub.(ssh.CryptoPublicKey).CryptoPublicKey().(ed25519.PublicKey), priv.Public().(ed25519.PublicKey)) {
		t.Fatalf("%s.pub (%s) is not the public key of %s", name, pub.Type(), name)
	}
}

func TestNewKeys(t *testing.T) {
	a, b := generated(t), generated(t)
	if got := slices.Sorted(maps.Keys(a)); !slices.Equal(got, slices.Sorted(slices.Values(allKeys))) {
		t.Fatalf("keys %v, want %v", got, allKeys)
	}
	checkPair(t, contract.Source, a[contract.Source], a[contract.SourcePub])
	checkPair(t, contract.Destination, a[contract.Destination], a[contract.DestinationPub])
	if bytes.Equal(a[contract.SourcePub], a[contract.DestinationPub]) {
		t.Fatal("the source and the destination share a key pair")
	}
	for _, k := range allKeys {
		if bytes.Equal(a[k], b[k]) {
			t.Fatalf("two generations gave the same %s", k)
		}
	}
	if err := checkKeys(allKeys...)(a); err != nil {
		t.Fatalf("generated keys refused: %v", err)
	}
}

// otherPub is the public key of a fresh pair.
func otherPub(t *testing.T) []byte { return generated(t)[contract.SourcePub] }

// encrypted returns an ed25519 private key encrypted with a passphrase, in OpenSSH format.
func encrypted(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

// certificate returns an authorized_keys line of a user certificate of the public key pub.
func certificate(t *testing.T, pub []byte) []byte {
	t.Helper()
	key, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	_, caKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := ssh.NewSignerFromKey(caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := &ssh.Certificate{Key: key, CertType: ssh.UserCert, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return ssh.MarshalAuthorizedKey(cert)
}

// breaker is a way a user's key Secret is wrong, with what the error must say. api: also run
// against the API server (TestUserKeyErrors).
type breaker struct {
	name  string
	edit  func(map[string][]byte)
	wants string
	api   bool
}

// keyBreakers are the breakers of the key Secret of a side (role).
func keyBreakers(t *testing.T, role naming.Role) []breaker {
	priv, peerPub := contract.Destination, contract.SourcePub
	if role == naming.Source {
		priv, peerPub = contract.Source, contract.DestinationPub
	}
	pub := priv + ".pub"
	notPublic := "key " + peerPub + " is not an ssh public key"
	return []breaker{
		{"missing key", func(d map[string][]byte) { delete(d, pub) }, "missing key(s) [" + pub + "]", true},
		{"empty key", func(d map[string][]byte) { d[peerPub] = nil }, "missing key(s) [" + peerPub + "]", false},
		{"private key not a key", func(d map[string][]byte) { d[priv] = []byte("not a key at all") },
			"key " + priv + " is not an ssh private key", true},
		{"public key not a key", func(d map[string][]byte) { d[peerPub] = []byte("ssh-ed25519 bm90IGEga2V5") }, notPublic, true},
		{"private key given as public", func(d map[string][]byte) { d[peerPub] = d[priv] }, notPublic, false},
		{"encrypted key", func(d map[string][]byte) { d[priv] = encrypted(t) },
			"key " + priv + " is encrypted; the mover needs a private key without a passphrase", true},
		{"not a pair", func(d map[string][]byte) { d[pub] = otherPub(t) }, "keys " + priv + " and " + pub + " are not a pair", true},
		{"public key with options", func(d map[string][]byte) { d[peerPub] = append([]byte(`command="/bin/sh" `), d[peerPub]...) },
			notPublic, false},
		{"certificate", func(d map[string][]byte) { d[peerPub] = certificate(t, d[peerPub]) }, notPublic, false},
		{"garbage before the public key", func(d map[string][]byte) { d[peerPub] = append([]byte("garbage\n"), d[peerPub]...) },
			notPublic, false},
	}
}

// TestCheckKeys: a side's key Secret is refused for each problem with a message that names
// the key and the problem, and never a value.
func TestCheckKeys(t *testing.T) {
	for _, role := range []naming.Role{naming.Source, naming.Destination} {
		keys, _ := keysFor(role)
		for _, tc := range keyBreakers(t, role) {
			t.Run(string(role)+"/"+tc.name, func(t *testing.T) {
				data := subsetOf(generated(t), keys)
				tc.edit(data)
				err := checkKeys(keys...)(data)
				if err == nil || !strings.Contains(err.Error(), tc.wants) {
					t.Fatalf("checkKeys: %v, want an error with %q", err, tc.wants)
				}
				noValueIn(t, err.Error(), data)
			})
		}
	}
	t.Run("valid halves", func(t *testing.T) {
		main := generated(t)
		for _, keys := range [][]string{sourceKeys, destinationKeys} {
			if err := checkKeys(keys...)(subsetOf(main, keys)); err != nil {
				t.Errorf("%v: %v", keys, err)
			}
		}
	})
	keys := destinationKeys
	t.Run("comments, blank lines and several public keys", func(t *testing.T) {
		data := subsetOf(generated(t), keys)
		// The pair's public key need not come first (a key being rotated in).
		data[contract.DestinationPub] = slices.Concat([]byte("# the destination\n\n"), otherPub(t), data[contract.DestinationPub])
		if err := checkKeys(keys...)(data); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CRLF line ends", func(t *testing.T) {
		data := subsetOf(generated(t), keys)
		for _, k := range keys {
			data[k] = bytes.ReplaceAll(data[k], []byte("\n"), []byte("\r\n"))
		}
		if err := checkKeys(keys...)(data); err != nil {
			t.Fatal(err)
		}
	})
}

// subsetOf copies keys of data.
func subsetOf(data map[string][]byte, keys []string) map[string][]byte {
	out, _ := subset(data, keys)()
	return out
}

// noValueIn fails when a message shows any line of a key value (or the base64 of a public key).
func noValueIn(t *testing.T, msg string, data map[string][]byte) {
	t.Helper()
	for k, v := range data {
		for _, line := range strings.Split(string(v), "\n") {
			line = strings.TrimSpace(line)
			if len(line) < 8 || strings.HasPrefix(line, "-----") {
				continue
			}
			for _, f := range append(strings.Fields(line), line) {
				if len(f) >= 16 && strings.Contains(msg, f) {
					t.Fatalf("the message shows a value of key %s: %s", k, msg)
				}
			}
		}
	}
}

func TestKeySecretNames(t *testing.T) {
	for _, tc := range []struct {
		role            naming.Role
		obj             string
		main, own, peer string
	}{
		{naming.Source, "app", "volsync-rsync-src-main-app", "volsync-rsync-src-src-app", "volsync-rsync-src-dest-app"},
		{naming.Destination, "app", "volsync-rsync-dst-main-app", "volsync-rsync-dst-dest-app", "volsync-rsync-dst-src-app"},
	} {
		n := keySecretNames(tc.role, tc.obj)
		own, peer := n.own(tc.role)
		if n.main != tc.main || own != tc.own || peer != tc.peer {
			t.Errorf("%s %s: main %s own %s peer %s, want %s %s %s", tc.role, tc.obj, n.main, own, peer, tc.main, tc.own, tc.peer)
		}
	}
	// An object name at the longest a Secret name allows still gives valid, distinct names.
	long := strings.Repeat("a", naming.MaxObjectName)
	n := keySecretNames(naming.Destination, long)
	for _, name := range []string{n.main, n.src, n.dest} {
		if len(name) > naming.MaxObjectName {
			t.Errorf("%s: %d characters", name, len(name))
		}
	}
	if n.main == n.src || n.src == n.dest {
		t.Errorf("shortened names collide: %+v", n)
	}
}

func TestKeysFor(t *testing.T) {
	own, peer := keysFor(naming.Source)
	if !slices.Equal(own, sourceKeys) || !slices.Equal(peer, destinationKeys) {
		t.Errorf("source: %v %v", own, peer)
	}
	own, peer = keysFor(naming.Destination)
	if !slices.Equal(own, destinationKeys) || !slices.Equal(peer, sourceKeys) {
		t.Errorf("destination: %v %v", own, peer)
	}
	// Each side holds its own private key and no other, and both public keys.
	for _, keys := range [][]string{sourceKeys, destinationKeys} {
		if !slices.Contains(keys, contract.SourcePub) || !slices.Contains(keys, contract.DestinationPub) || len(keys) != 3 {
			t.Errorf("%v", keys)
		}
	}
}
