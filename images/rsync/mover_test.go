package main

// Tests of the entrypoint binary with the real sshd, ssh and rsync on loopback. Directories
// stand in for the volumes; keys are made with ssh-keygen. Install the tools with
// images/hack/install-deps.sh; with CI=true a missing tool fails the tests instead of skipping.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/result"
	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/treetest"
)

const (
	// unprivileged is the uid of the unprivileged movers: like a pod's runAsUser, it has no
	// /etc/passwd entry.
	unprivileged = 4242
	readyTimeout = 20 * time.Second
	exitTimeout  = movertest.ExitTimeout
)

var (
	moverBin   string
	missing    string
	scratchDir string
	// keys holds Secret-like key directories (root-owned, mode 0444, as the kubelet mounts
	// them): "good" (the pair of keys of one relationship), "wrong-source" (another source
	// key), "wrong-host" (another destination.pub).
	keys = map[string]string{}
)

func TestMain(m *testing.M) {
	missing = movertest.MissingTools("rsync", "sshd", "ssh", "ssh-keygen")
	if _, err := findNSSWrapper(); err != nil {
		missing += " libnss_wrapper"
	}
	movertest.Main(m, movertest.Setup{Bin: "volsync-rsync", Missing: missing, Scratch: &scratchDir, Mover: &moverBin, Prepare: makeKeys})
}

// makeKeys makes the key directories (the controller generates ed25519 keys in Go; the tests
// use ssh-keygen).
func makeKeys() error {
	gen := filepath.Join(scratchDir, "gen")
	if err := os.Mkdir(gen, 0o700); err != nil {
		return err
	}
	for _, k := range []string{"source", "destination", "other"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", filepath.Join(gen, k)).CombinedOutput(); err != nil {
			return fmt.Errorf("ssh-keygen: %w: %s", err, out)
		}
	}
	sets := map[string]map[string]string{
		"good":         {rsyncc.Source: "source", rsyncc.SourcePub: "source.pub", rsyncc.Destination: "destination", rsyncc.DestinationPub: "destination.pub"},
		"wrong-source": {rsyncc.Source: "other", rsyncc.SourcePub: "other.pub", rsyncc.Destination: "destination", rsyncc.DestinationPub: "destination.pub"},
		"wrong-host":   {rsyncc.Source: "source", rsyncc.SourcePub: "source.pub", rsyncc.Destination: "destination", rsyncc.DestinationPub: "other.pub"},
	}
	for name, files := range sets {
		dir := filepath.Join(scratchDir, "keys-"+name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		for key, from := range files {
			data, err := os.ReadFile(filepath.Join(gen, from))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, key), data, 0o444); err != nil {
				return err
			}
		}
		keys[name] = dir
	}
	return nil
}

// must panics on a set-up error.
var must = treetest.Must

func requireTools(t *testing.T) {
	t.Helper()
	movertest.RequireTools(t, missing)
	movertest.RequireRoot(t, "the movers run as uid 4242 and as root, sshd as other uids (CI runs as root)")
}

// env is one mover's world: directories, identity and key Secret.
type env struct {
	*movertest.Env
	keys string
}

func newEnv(t *testing.T, name string, uid int, keySet string) *env {
	t.Helper()
	return &env{Env: movertest.NewEnv(t, scratchDir, name, uid), keys: keys[keySet]}
}

func (e *env) start(mode string, extra ...string) *movertest.Process {
	e.T.Helper()
	vars := append(e.BaseEnv(), mover.EnvKeysDir+"="+e.keys, "HOME=/nonexistent")
	return e.Start(append(vars, extra...), moverBin, mode)
}

func (e *env) startDestination(port int, extra ...string) *movertest.Process {
	e.T.Helper()
	m := e.start("destination", append([]string{mover.EnvListenPort + "=" + strconv.Itoa(port)}, extra...)...)
	m.WaitFor(e.T, ReadyMessage, readyTimeout)
	return m
}

func (e *env) runSource(port int, extra ...string) (*movertest.Process, int) {
	e.T.Helper()
	m := e.start("source", append([]string{
		mover.EnvDestinationAddress + "=127.0.0.1",
		mover.EnvDestinationPort + "=" + strconv.Itoa(port),
		mover.EnvRetryDelay + "=100ms",
	}, extra...)...)
	return m, m.Wait(e.T, exitTimeout)
}

// sync1 runs one destination and one source to completion and checks both succeeded.
func sync1(t *testing.T, src, dst *env, extra ...string) (source, destination result.Result) {
	t.Helper()
	port := movertest.FreePort(t)
	d := dst.startDestination(port)
	s, rc := src.runSource(port, extra...)
	source, destination = movertest.CheckSynced(t, src.Env, dst.Env, s, d, rc)
	if destination.FilesTransferred != source.FilesTransferred {
		t.Fatalf("the destination received %d files, the source sent %d", destination.FilesTransferred, source.FilesTransferred)
	}
	return source, destination
}

// listening starts a destination (uid 4242, the good keys) and returns it with its port.
func listening(t *testing.T) (*env, int, *movertest.Process) {
	t.Helper()
	dst := newEnv(t, "dst", unprivileged, "good")
	port := movertest.FreePort(t)
	return dst, port, dst.startDestination(port)
}

func checkFailed(t *testing.T, e *env, m *movertest.Process, rc, wantRC int, wantReason ...string) {
	t.Helper()
	movertest.CheckFailed(t, e.Env, m, rc, wantRC, wantReason...)
}

// sshClient runs the real ssh client as root with a key of keySet, the way a person would.
func sshClient(t *testing.T, keySet string, port int, user string, command ...string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	id := filepath.Join(dir, "id")
	data, err := os.ReadFile(filepath.Join(keys[keySet], rsyncc.Source))
	must(err)
	must(os.WriteFile(id, data, 0o600))
	kh := filepath.Join(dir, "known_hosts")
	pub, err := os.ReadFile(filepath.Join(keys[keySet], rsyncc.DestinationPub))
	must(err)
	must(os.WriteFile(kh, []byte("[127.0.0.1]:"+strconv.Itoa(port)+" "+string(pub)), 0o600))
	args := append([]string{"-F", "/dev/null", "-i", id, "-o", "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-p", strconv.Itoa(port), user + "@127.0.0.1"}, command...)
	out, err := exec.Command("ssh", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), exitCode(err)
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
