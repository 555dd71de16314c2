package reconcile

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volsync-go/volsync/pkg/common/rbac"
)

// TestMoverEnvCarriesControllerOptions: what main reads once (flags, proxy environment)
// reaches every mover.
func TestMoverEnvCarriesControllerOptions(t *testing.T) {
	pull := rbac.PullSecrets{Namespace: "volsync-system", Names: []string{"a", "b"}}
	proxy := []corev1.EnvVar{{Name: "HTTPS_PROXY", Value: "http://proxy:3128"}, {Name: "https_proxy", Value: "http://proxy:3128"}}
	o := Options{PullSecrets: pull, ProxyEnv: proxy}
	env := o.moverEnv(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, true)
	if !reflect.DeepEqual(env.PullSecrets, pull) || !reflect.DeepEqual(env.ProxyEnv, proxy) || !env.Privileged {
		t.Fatalf("mover.Env = %+v, want the controller's pull secrets %+v and proxy %+v", env, pull, proxy)
	}
}
