//go:build e2e

package s3

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// CustomCAKey is the key that holds the CA in the Secret and ConfigMap of CustomCASources: not
// ca.crt, so the controller must map the key the object names to the file the mover reads.
const CustomCAKey = "server-ca.pem"

// CustomCASources creates, in ns, the CA of this (HTTPS) server as a user provides it: in the
// Secret tls-secret and in the ConfigMap tls-configmap, under CustomCAKey; and returns the
// customCA of each.
func (s *Server) CustomCASources(t *testing.T, ns string) (fromSecret, fromConfigMap v1alpha1.CustomCASpec) {
	t.Helper()
	if s.CA == nil {
		t.Fatal("test setup: the server speaks plain HTTP, it has no CA")
	}
	ctx := cluster.Ctx(t, time.Minute)
	cluster.Must(t, cluster.C.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls-secret", Namespace: ns},
		Data: map[string][]byte{CustomCAKey: s.CA}}))
	cluster.Must(t, cluster.C.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tls-configmap", Namespace: ns},
		Data: map[string]string{CustomCAKey: string(s.CA)}}))
	return v1alpha1.CustomCASpec{SecretName: "tls-secret", Key: CustomCAKey},
		v1alpha1.CustomCASpec{ConfigMapName: "tls-configmap", Key: CustomCAKey}
}
