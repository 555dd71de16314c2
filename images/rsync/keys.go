package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The key Secret is mounted read-only, possibly with mode 0444 and owned by root: ssh and sshd
// refuse a private key that others may read, so the mover copies what it needs, mode 0600,
// into its private directory.

// copyPrivateKey copies the private key file src to dst with mode 0600.
func copyPrivateKey(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("reading the private key: %w", err)
	}
	if !bytes.Contains(data, []byte("PRIVATE KEY-----")) {
		return fmt.Errorf("%s is not a private key in OpenSSH or PEM format", src)
	}
	// A Secret edited on Windows may carry CRLF line ends, which ssh does not read.
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		return fmt.Errorf("copying the private key: %w", err)
	}
	return nil
}

// publicKey is one "<type> <base64>" key of a .pub file (the comment dropped).
type publicKey struct{ typ, blob string }

func (k publicKey) String() string { return k.typ + " " + k.blob }

// keyTypes are the key types OpenSSH accepts (prefixes).
var keyTypes = []string{"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-", "ssh-dss"}

// readPublicKeys reads the keys of a .pub (authorized_keys-style) file: one key a line, blank
// lines and # comments ignored. Options in front of a key are refused: this mover sets them.
func readPublicKeys(path string) ([]publicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	var keys []publicKey
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !isKeyType(f[0]) {
			return nil, fmt.Errorf("%s line %d is not an ssh public key (\"<type> <base64> [comment]\", e.g. the .pub file of ssh-keygen)", path, i+1)
		}
		keys = append(keys, publicKey{typ: f[0], blob: f[1]})
	}
	if len(keys) == 0 {
		return nil, errors.New(path + " holds no ssh public key")
	}
	return keys, nil
}

func isKeyType(s string) bool {
	for _, t := range keyTypes {
		if s == t || strings.HasSuffix(t, "-") && strings.HasPrefix(s, t) {
			return true
		}
	}
	return false
}
