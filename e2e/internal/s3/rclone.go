//go:build e2e

package s3

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// RcloneConfigKey is the key of an rcloneConfig Secret that holds rclone.conf.
const RcloneConfigKey = "rclone.conf"

// RcloneConfig returns an rclone.conf with one section, an S3 remote for this server with its
// root credentials (rclone's s3 backend: provider Other, path-style addressing).
func (s *Server) RcloneConfig(section string) string {
	return fmt.Sprintf(`[%s]
type = s3
provider = Other
env_auth = false
access_key_id = %s
secret_access_key = %s
endpoint = %s
region = %s
force_path_style = true
`, section, s.AccessKey, s.SecretKey, s.Endpoint, Region)
}

// RcloneSecret creates the Secret name in ns holding RcloneConfig(section) under rclone.conf,
// as a user writes it for spec.rclone.rcloneConfig.
func (s *Server) RcloneSecret(t *testing.T, ns, name, section string) {
	t.Helper()
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		StringData: map[string]string{RcloneConfigKey: s.RcloneConfig(section)},
	}))
}
