//go:build e2e

package s3

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

// The server certificate verifies against the CA for each of its names, and for no other.
func TestCerts(t *testing.T) {
	names := []string{"versitygw", "versitygw.ns", "versitygw.ns.svc", "versitygw.ns.svc.cluster.local"}
	c, err := newCerts(names)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c.Cert, c.Key)
	if err != nil {
		t.Fatalf("key pair: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.CA) {
		t.Fatal("CA PEM not parsed")
	}
	for _, n := range names {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: n, Roots: roots}); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.ns.svc", Roots: roots}); err == nil {
		t.Error("verified for a name it does not hold")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: names[0], Roots: x509.NewCertPool()}); err == nil {
		t.Error("verified without the CA")
	}
}
