package rsynctls_test

// Tests of the entrypoint binary with the real rsync and stunnel on loopback. Directories stand
// in for the volumes. Install the tools with hack/install-deps.sh; with CI=true a missing tool
// fails the tests instead of skipping them.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/rsynctls"
)

const (
	// nobody runs the unprivileged movers.
	nobody = 65534
	// readyTimeout bounds the wait for a server to listen, exitTimeout for a mover to finish a
	// small sync; bigSyncTimeout is for the 100k-entry tree.
	readyTimeout   = 20 * time.Second
	exitTimeout    = 60 * time.Second
	bigSyncTimeout = 5 * time.Minute
)

var (
	moverBin   string
	missing    string
	scratchDir string
)

func TestMain(m *testing.M) {
	for _, tool := range []string{"rsync", "stunnel"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing += " " + tool
		}
	}
	var err error
	scratchDir, err = os.MkdirTemp("", "rsynctls-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Unprivileged movers run as nobody and must reach the binary and their directories.
	must(os.Chmod(scratchDir, 0o755))
	moverBin = filepath.Join(scratchDir, "rsync-tls")
	if out, err := exec.Command("go", "build", "-o", moverBin, "../rsync-tls").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the entrypoint: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(scratchDir)
	os.Exit(code)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func requireTools(t *testing.T) {
	t.Helper()
	if missing == "" {
		return
	}
	msg := "missing tools:" + missing + " (run images/hack/install-deps.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// env is one mover's world: its directories and its identity.
type env struct {
	t    *testing.T
	dir  string
	uid  int
	data string
	tmp  string
	key  string
}

// newEnv makes a data directory, TMPDIR and key file owned by uid.
func newEnv(t *testing.T, name string, uid int, pskLine string) *env {
	t.Helper()
	dir, err := os.MkdirTemp(scratchDir, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	must(os.Chmod(dir, 0o755))
	e := &env{t: t, dir: dir, uid: uid, data: filepath.Join(dir, "data"), tmp: filepath.Join(dir, "tmp"), key: filepath.Join(dir, "psk.txt")}
	for _, d := range []string{e.data, e.tmp} {
		must(os.Mkdir(d, 0o755))
		must(os.Chown(d, uid, uid))
	}
	must(os.WriteFile(e.key, []byte(pskLine+"\n"), 0o600))
	must(os.Chown(e.key, uid, uid))
	// Kubernetes provides a writable termination log.
	must(os.WriteFile(e.resultPath(), nil, 0o644))
	must(os.Chown(e.resultPath(), uid, uid))
	return e
}

func (e *env) resultPath() string { return filepath.Join(e.dir, "termination-log") }

func newPSK(identity string) string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	return identity + ":" + hex.EncodeToString(b)
}

// mover is a running entrypoint.
type mover struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	rc     int
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *env) start(mode string, extra ...string) *mover {
	e.t.Helper()
	cmd := exec.Command(moverBin, mode)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + e.tmp,
		rsynctls.EnvDataDir + "=" + e.data,
		rsynctls.EnvKeyFile + "=" + e.key,
		result.PathEnv + "=" + e.resultPath(),
	}, extra...)
	if e.uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.uid), NoSetGroups: true}}
	}
	m := &mover{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = lockedWriter{&m.mu, &m.stdout}
	cmd.Stderr = lockedWriter{&m.mu, &m.stderr}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			m.rc = 0
		case errors.As(err, &ee):
			m.rc = ee.ExitCode()
		default:
			m.rc = -1
		}
		close(m.done)
	}()
	e.t.Cleanup(func() {
		// Stop a mover still running the way Kubernetes does: SIGTERM, then SIGKILL.
		select {
		case <-m.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-m.done:
			case <-time.After(exitTimeout):
				_ = cmd.Process.Kill()
				<-m.done
			}
		}
		if e.t.Failed() {
			e.t.Logf("%s %s stdout:\n%s\nstderr:\n%s", filepath.Base(e.dir), mode, m.out(), m.errOut())
		}
	})
	return m
}

func (m *mover) out() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stdout.String()
}

func (m *mover) errOut() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

// wait returns the exit code, failing the test when the mover runs past the deadline.
func (m *mover) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-m.done:
		return m.rc
	case <-time.After(timeout):
		t.Fatalf("mover still running after %s", timeout)
		return -1
	}
}

func (m *mover) running() bool {
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// waitFor polls the mover's stdout for text until the deadline.
func (m *mover) waitFor(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(m.out(), text) {
		if !m.running() {
			t.Fatalf("mover exited (rc %d) before logging %q", m.rc, text)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q after %s", text, timeout)
		}
		<-tick.C
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func (e *env) startServer(port int, extra ...string) *mover {
	e.t.Helper()
	m := e.start("server", append([]string{rsynctls.EnvListenPort + "=" + strconv.Itoa(port)}, extra...)...)
	m.waitFor(e.t, rsynctls.ReadyMessage, readyTimeout)
	return m
}

func (e *env) runClient(port int, timeout time.Duration, extra ...string) (*mover, int) {
	e.t.Helper()
	m := e.start("client", append([]string{
		rsynctls.EnvDestinationAddress + "=127.0.0.1",
		rsynctls.EnvDestinationPort + "=" + strconv.Itoa(port),
	}, extra...)...)
	return m, m.wait(e.t, timeout)
}

func (e *env) result() result.Result {
	e.t.Helper()
	b, err := os.ReadFile(e.resultPath())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(b) > result.MaxBytes {
		e.t.Fatalf("result is %d bytes", len(b))
	}
	r, err := result.Parse(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// sync runs one server and one client to completion and checks both succeeded.
func sync1(t *testing.T, src, dst *env, timeout time.Duration) (client, server result.Result) {
	t.Helper()
	port := freePort(t)
	srv := dst.startServer(port)
	cli, rc := src.runClient(port, timeout)
	if rc != 0 {
		t.Fatalf("client exit %d: %s", rc, cli.errOut())
	}
	if rc := srv.wait(t, exitTimeout); rc != 0 {
		t.Fatalf("server exit %d: %s", rc, srv.errOut())
	}
	if cli.errOut() != "" || srv.errOut() != "" {
		t.Fatalf("stderr must stay empty on success: client %q server %q", cli.errOut(), srv.errOut())
	}
	client, server = src.result(), dst.result()
	if client.Outcome != result.OutcomeSuccessful || server.Outcome != result.OutcomeSuccessful || client.Error != "" {
		t.Fatalf("results: client %+v server %+v", client, server)
	}
	if server.BytesSent != client.BytesSent || server.FilesTransferred != client.FilesTransferred {
		t.Fatalf("the destination reports other numbers than the source: %+v vs %+v", server, client)
	}
	if client.DurationSeconds <= 0 || server.DurationSeconds <= 0 {
		t.Fatalf("durations: %+v %+v", client, server)
	}
	return client, server
}
