package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// tlsCheckTimeout bounds the TLS check of an endpoint.
const tlsCheckTimeout = 10 * time.Second

// endpointKeys are the options of rclone backends that hold a server's URL (s3, azureblob,
// gcs, b2: endpoint; webdav, http, seafile: url).
var endpointKeys = []string{"endpoint", "url"}

// checkTLS verifies that the HTTPS endpoints of the section present a certificate the mover
// trusts, the way rclone will (the system's CAs, or only the custom CA when there is one). An
// untrusted certificate is a failure rclone would only report after minutes of retries.
// Endpoints it cannot reach directly (a proxy, a network error) are left to rclone.
func checkTLS(ctx context.Context, c Config) error {
	var roots *x509.CertPool
	if c.CustomCA != "" {
		pem, err := os.ReadFile(c.CustomCA)
		if err != nil {
			return fmt.Errorf("custom CA: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("custom CA %s holds no usable PEM certificate", c.CustomCA)
		}
	}
	for _, endpoint := range sectionEndpoints(c) {
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			continue
		}
		port := u.Port()
		if port == "" {
			port = "443"
		}
		if cause := handshake(ctx, net.JoinHostPort(u.Hostname(), port), u.Hostname(), roots); cause != nil {
			return errors.New(untrustedReason(c, cause.Error()))
		}
	}
	return nil
}

// handshake dials addr and completes a TLS handshake. It returns the verification error of a
// server certificate that is not trusted, nil otherwise.
func handshake(ctx context.Context, addr, serverName string, roots *x509.CertPool) error {
	ctx, cancel := context.WithTimeout(ctx, tlsCheckTimeout)
	defer cancel()
	d := &tls.Dialer{Config: &tls.Config{ServerName: serverName, RootCAs: roots, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = conn.Close()
		return nil
	}
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		return nil
	}
	return verr.Err
}

// sectionEndpoints returns the endpoint URLs of the configuration's section: from the file,
// replaced by RCLONE_CONFIG_<SECTION>_<KEY> variables (which rclone prefers).
func sectionEndpoints(c Config) []string {
	values := map[string]string{}
	if conf, err := os.ReadFile(c.ConfigFile); err == nil {
		in := false
		sc := bufio.NewScanner(bytes.NewReader(conf))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
				in = strings.TrimSpace(l[1:len(l)-1]) == c.Section
				continue
			}
			if k, v, ok := strings.Cut(l, "="); in && ok {
				values[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
	}
	prefix := "RCLONE_CONFIG_" + envName(c.Section) + "_"
	for _, kv := range c.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, prefix) {
			values[strings.ToLower(strings.TrimPrefix(k, prefix))] = v
		}
	}
	var out []string
	for _, k := range endpointKeys {
		if v := values[k]; v != "" {
			out = append(out, v)
		}
	}
	return out
}
