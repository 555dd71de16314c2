//go:build e2e

package s3

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// bucketTimeout bounds the creation of a bucket, retries included.
const bucketTimeout = 2 * time.Minute

// CreateBucket creates a bucket owned by the root user, with versitygw's admin client in a
// short-lived pod of the server's namespace that reaches the server by its Service name (and,
// for TLS, trusts only the generated CA: the certificate is checked as the movers check it).
// A failed attempt is retried until bucketTimeout; a bucket the root user already owns counts
// as created.
func (s *Server) CreateBucket(t *testing.T, bucket string) {
	t.Helper()
	cluster.Eventually(t, bucketTimeout, "bucket "+bucket, func() error {
		_, err := cluster.RunPod(t, s.adminPod(bucket), time.Minute)
		if err != nil && strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
			return nil // an earlier attempt created it
		}
		return err
	})
	t.Logf("bucket %s on %s", bucket, s.Endpoint)
}

// adminPod is a pod that creates the bucket with `versitygw admin create-bucket`, the
// credentials taken from the root Secret.
func (s *Server) adminPod(bucket string) *corev1.Pod {
	env := func(v, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: v, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: rootSecret}, Key: key}}}
	}
	dep := deployment(s.Namespace)
	spec := dep.Spec.Template.Spec
	spec.Volumes = nil
	ctr := &spec.Containers[0]
	ctr.Name, ctr.Ports, ctr.ReadinessProbe, ctr.VolumeMounts = "admin", nil, nil, nil
	ctr.Env = []corev1.EnvVar{env("ADMIN_ACCESS_KEY_ID", accessKey), env("ADMIN_SECRET_ACCESS_KEY", secretKey)}
	ctr.Args = []string{"admin", "--endpoint-url", s.Endpoint, "--region", Region,
		"create-bucket", "--bucket", bucket, "--owner", s.AccessKey}
	if s.CA != nil {
		mountSecret(&spec, caSecret, "/ca")
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: "SSL_CERT_FILE", Value: "/ca/ca.crt"})
	}
	spec.TerminationGracePeriodSeconds = ptr.To(int64(0))
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("mkbucket-%s", rand.String(6)), Namespace: s.Namespace}, Spec: spec}
}
