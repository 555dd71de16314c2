//go:build e2e

package s3

import "testing"

// DeployPlainAndTLS starts a suite's two S3 servers, in namespaces prefix-s3-<random> and
// prefix-s3tls-<random>: one plain HTTP, one HTTPS with a certificate signed by a CA of its
// own; and waits until both are ready.
func DeployPlainAndTLS(t *testing.T, prefix string) (plain, secure *Server) {
	t.Helper()
	plain = Deploy(t, prefix+"-s3", false)
	secure = Deploy(t, prefix+"-s3tls", true)
	plain.WaitReady(t)
	secure.WaitReady(t)
	return plain, secure
}
