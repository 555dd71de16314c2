package syncthing

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/syncthing"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
	"github.com/volsync-go/volsync/pkg/testutil/syncbuffer"
)

// syncTimeout bounds what real syncthing processes take: connecting, exchanging indexes and
// noticing a change (its file-system watcher waits 10 s).
const syncTimeout = 90 * time.Second

// peer is a real syncthing playing the pod of a ReplicationSource's Deployment: started with
// the Secret the controller generated, reachable at the API Service's address through routes.
type peer struct {
	rs     *v1alpha1.ReplicationSource
	data   string
	listen string
	cmd    *exec.Cmd
	out    *syncbuffer.Buffer
	done   chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	lifecycle.Must(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// startPeer waits for rs's Secret and API Service, starts its syncthing and marks its
// Deployment ready, as the kubelet and the Deployment controller would.
func startPeer(t *testing.T, rs *v1alpha1.ReplicationSource) *peer {
	t.Helper()
	ctx := lifecycle.Context(t)
	n := namesOf(rs.Name)
	secret := &corev1.Secret{}
	svc := &corev1.Service{}
	lifecycle.Eventually(t, "the Secret and API Service of "+rs.Name, func() error {
		if err := h.Get(ctx, rs.Namespace, n.Secret, secret); err != nil {
			return err
		}
		return h.Get(ctx, rs.Namespace, n.API, svc)
	})
	root := t.TempDir()
	certs, config, data := filepath.Join(root, "certs"), filepath.Join(root, "config"), filepath.Join(root, "data")
	for _, d := range []string{certs, config, data} {
		lifecycle.Must(t, os.MkdirAll(d, 0o755))
	}
	lifecycle.Must(t, os.WriteFile(filepath.Join(certs, contract.HTTPSCertFile), secret.Data[contract.SecretHTTPSCert], 0o600))
	lifecycle.Must(t, os.WriteFile(filepath.Join(certs, contract.HTTPSKeyFile), secret.Data[contract.SecretHTTPSKey], 0o600))
	// Listening on every interface, as in the pod: syncthing refuses requests whose Host is
	// not localhost when its API listens on loopback only (DNS-rebinding protection), and the
	// controller's requests name the Service's address.
	port := strconv.Itoa(freePort(t))
	api := net.JoinHostPort("127.0.0.1", port)
	p := &peer{rs: rs, data: data, listen: "tcp://127.0.0.1:" + strconv.Itoa(freePort(t)), out: &syncbuffer.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(moverBin, contract.CommandRun)
	p.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + root,
		contract.EnvConfigDir + "=" + config, contract.EnvDataDir + "=" + data, contract.EnvCertDir + "=" + certs,
		contract.EnvAPIKey + "=" + string(secret.Data[contract.SecretAPIKey]), "PRIVILEGED_MOVER=0",
		contract.EnvAPIAddress + "=0.0.0.0:" + port, contract.EnvListenAddress + "=" + p.listen,
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	lifecycle.Must(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("syncthing of %s/%s:\n%s", rs.Namespace, rs.Name, p.out.String())
		}
	})
	routes.Store(net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(contract.APIPort)), api)
	t.Cleanup(func() { routes.Delete(net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(contract.APIPort))) })
	markReady(t, rs.Namespace, n.Deployment)
	return p
}

func (p *peer) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// markReady plays the Deployment controller: the Deployment's one pod is ready.
func markReady(t *testing.T, ns, name string) {
	t.Helper()
	ctx := lifecycle.Context(t)
	lifecycle.Eventually(t, "Deployment "+name+" marked ready", func() error {
		d := &appsv1.Deployment{}
		if err := h.Get(ctx, ns, name, d); err != nil {
			return err
		}
		patch := client.MergeFrom(d.DeepCopy())
		r := ptr.Deref(d.Spec.Replicas, 1)
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas, d.Status.ReadyReplicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas = r, r, r, r
		return h.Client.Status().Patch(ctx, d, patch)
	})
}

// waitFor polls f until it returns nil or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
}

// readRS reads rs live.
func readRS(t *testing.T, rs *v1alpha1.ReplicationSource) *v1alpha1.ReplicationSource {
	t.Helper()
	out := &v1alpha1.ReplicationSource{}
	lifecycle.Must(t, h.Get(lifecycle.Context(t), rs.Namespace, rs.Name, out))
	return out
}

// condition is rs's Synchronizing condition message and reason ("" before there is one).
func condition(rs *v1alpha1.ReplicationSource) (reason, msg string) {
	if c := lifecycle.Synchronizing(lifecycle.Common(rs)); c != nil {
		return c.Reason, c.Message
	}
	return "", ""
}

// waitCondition waits until rs's condition message contains want.
func waitCondition(t *testing.T, rs *v1alpha1.ReplicationSource, want string, timeout time.Duration) *v1alpha1.ReplicationSource {
	t.Helper()
	var cur *v1alpha1.ReplicationSource
	waitFor(t, fmt.Sprintf("%s's condition to say %q", rs.Name, want), timeout, func() error {
		cur = readRS(t, rs)
		lifecycle.FailOnForbidden(t, lifecycle.Common(cur))
		if _, msg := condition(cur); !strings.Contains(msg, want) {
			return fmt.Errorf("condition: %q", msg)
		}
		return nil
	})
	return cur
}

// setPeers replaces rs's peers.
func setPeers(t *testing.T, rs *v1alpha1.ReplicationSource, peers ...v1alpha1.SyncthingPeer) {
	t.Helper()
	ctx := lifecycle.Context(t)
	lifecycle.Eventually(t, "peers of "+rs.Name+" set", func() error {
		cur := readRS(t, rs)
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec.Syncthing.Peers = peers
		return h.Client.Patch(ctx, cur, patch)
	})
}
