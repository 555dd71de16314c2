package syncthing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	contract "github.com/volsync-go/volsync/images/contract/syncthing"
)

// certValidity is how long the API certificate is valid (the reference's ten years: it is
// pinned, never checked against a clock-bound CA).
const certValidity = 10 * 365 * 24 * time.Hour

// serverName is the name the API certificate is valid for and the controller checks: the
// API Service's <name>.<namespace> (the reference's, so a Secret it generated still works).
func serverName(apiService, ns string) string { return apiService + "." + ns }

// generateSecret returns the data of a new Secret: the API key and GUI password from
// crypto/rand, and a self-signed ECDSA P-256 certificate for the API.
func generateSecret(apiService, ns string, now time.Time) (map[string][]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	name := serverName(apiService, ns)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Backube"}, OrganizationalUnit: []string{"VolSync"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		DNSNames:     []string{name, name + ".svc"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		// Its own authority: the controller trusts exactly this certificate.
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("making the API certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		contract.SecretAPIKey:    []byte(rand.Text()),
		contract.SecretUsername:  []byte(contract.Username),
		contract.SecretPassword:  []byte(rand.Text()),
		contract.SecretHTTPSCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		contract.SecretHTTPSKey:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}
