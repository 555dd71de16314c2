//go:build e2e

package s3

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// ResticRepository is the RESTIC_REPOSITORY of path ("bucket/dir/...") on this server: restic's
// s3 backend URL, s3:http(s)://versitygw.<namespace>.svc:7070/bucket/dir.
func (s *Server) ResticRepository(path string) string {
	return "s3:" + s.Endpoint + "/" + path
}

// ResticSecretData is what a user writes in a restic repository Secret (spec.restic.repository)
// for path on this server: the repository URL, its password and the server's root credentials
// and region.
func (s *Server) ResticSecretData(path, password string) map[string]string {
	return map[string]string{
		"RESTIC_REPOSITORY":     s.ResticRepository(path),
		"RESTIC_PASSWORD":       password,
		"AWS_ACCESS_KEY_ID":     s.AccessKey,
		"AWS_SECRET_ACCESS_KEY": s.SecretKey,
		"AWS_DEFAULT_REGION":    Region,
	}
}

// ResticSecret creates the Secret name in ns holding ResticSecretData(path, password).
func (s *Server) ResticSecret(t *testing.T, ns, name, path, password string) {
	t.Helper()
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		StringData: s.ResticSecretData(path, password),
	}))
}
