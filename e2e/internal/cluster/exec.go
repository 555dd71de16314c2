//go:build e2e

package cluster

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
)

// execTimeout bounds a command run in a pod.
const execTimeout = time.Minute

// Exec runs cmd in container of pod ns/name (kubectl exec) and returns its output; an error
// when it cannot run or exits non-zero.
func Exec(t *testing.T, ns, name, container string, cmd ...string) (string, error) {
	t.Helper()
	cfg, err := config.GetConfig()
	if err != nil {
		return "", err
	}
	req := CS.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return "", err
	}
	var out, errOut bytes.Buffer
	err = ex.StreamWithContext(Ctx(t, execTimeout), remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
	if err != nil {
		return out.String(), fmt.Errorf("exec %v in %s/%s: %w (stderr: %s)", cmd, ns, name, err, errOut.String())
	}
	return out.String(), nil
}
