package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/volsync-go/volsync/images/contract/syncthing"
)

// IgnoreFile is syncthing's ignore patterns file in the folder's root, and defaultIgnores what
// the mover writes there when there is none: the volume's lost+found is never synced.
const (
	IgnoreFile     = ".stignore"
	defaultIgnores = "lost+found\n"
)

// unwritableHint tells the user how to give the mover write access to a volume.
const unwritableHint = "set spec.syncthing.moverSecurityContext to the application's uid/gid/fsGroup, " +
	`or allow privileged movers (namespace annotation volsync.backube/privileged-movers: "true")`

// checkWritable fails with a clear reason when dir is missing, not a directory, or not
// writable by the mover (it creates and removes a probe file: the permission bits, ACLs, a
// read-only mount and a full volume all answer).
func checkWritable(what, dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("the %s %s is not accessible by uid %d (gid %d): %s", what, dir, os.Geteuid(), os.Getegid(), unwritableHint)
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case !fi.IsDir():
		return fmt.Errorf("the %s %s is not a directory", what, dir)
	}
	f, err := os.CreateTemp(dir, ".volsync-write-probe-*")
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrExist) {
			return fmt.Errorf("the %s %s is not writable by uid %d (gid %d): %s", what, dir, os.Geteuid(), os.Getegid(), unwritableHint)
		}
		return fmt.Errorf("the %s %s is not writable: %w", what, dir, err)
	}
	_ = f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("the %s %s: removing a probe file: %w", what, dir, err)
	}
	return nil
}

// ensureIgnores writes the folder's .stignore when there is none (an existing one is the
// user's or the controller's, kept as it is). It reports whether it wrote one.
func ensureIgnores(dataDir string) (bool, error) {
	path := filepath.Join(dataDir, IgnoreFile)
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("checking %s: %w", path, err)
	}
	if err := writeFileAtomic(path, []byte(defaultIgnores), 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// copyHTTPSCert copies the API's certificate and key from the Secret's mount into syncthing's
// home (mode 0600), on every start: a rotated Secret takes effect when the pod restarts. They
// must form a key pair syncthing keeps: syncthing silently replaces a pair it cannot load, or
// a self-signed certificate like its own that expires within 30 days, with a new self-signed
// one that the controller (which trusts exactly the Secret's certificate) would refuse.
func copyHTTPSCert(c Config) error {
	certPath := filepath.Join(c.CertDir, syncthing.HTTPSCertFile)
	keyPath := filepath.Join(c.CertDir, syncthing.HTTPSKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return fmt.Errorf("API certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("API key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("API certificate %s and key %s: %w", certPath, keyPath, err)
	}
	if reason := wouldRegenerate(pair); reason != "" {
		return fmt.Errorf("API certificate %s %s: syncthing would replace it with its own; renew the Secret's certificate", certPath, reason)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{syncthing.HTTPSCertFile, certPEM}, {syncthing.HTTPSKeyFile, keyPEM}} {
		if err := writeFileAtomic(filepath.Join(c.ConfigDir, f.name), f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// wouldRegenerate is syncthing's own test (lib/api shouldRegenerateCertificate, v1.30.0) of an
// API certificate it replaces at start: one that looks like its own self-signed certificates
// (no IP address, at most one DNS name, the issuer's common name) and has expired or expires
// within 30 days. It returns why, or "".
func wouldRegenerate(pair tls.Certificate) string {
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return "cannot be parsed: " + err.Error()
	}
	if leaf.Subject.String() != leaf.Issuer.String() || len(leaf.IPAddresses) != 0 || len(leaf.DNSNames) > 1 ||
		(len(leaf.DNSNames) == 1 && leaf.DNSNames[0] != leaf.Issuer.CommonName) {
		return ""
	}
	switch now := time.Now(); {
	case leaf.NotAfter.Before(now):
		return "expired on " + leaf.NotAfter.UTC().Format(time.RFC3339)
	case leaf.NotAfter.Before(now.Add(30 * 24 * time.Hour)):
		return "expires within 30 days (on " + leaf.NotAfter.UTC().Format(time.RFC3339) + ")"
	}
	return ""
}
