package main

// Tests of the entrypoint binary with the real rsync and stunnel on loopback. Directories stand
// in for the volumes. Install the tools with hack/install-deps.sh; with CI=true a missing tool
// fails the tests instead of skipping them.

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/treetest"
)

const (
	// nobody runs the unprivileged movers.
	nobody = movertest.Nobody
	// readyTimeout bounds the wait for a server to listen, exitTimeout for a mover to finish a
	// small sync; bigSyncTimeout is for the 100k-entry tree.
	readyTimeout   = 20 * time.Second
	exitTimeout    = movertest.ExitTimeout
	bigSyncTimeout = 5 * time.Minute
)

var (
	moverBin   string
	missing    string
	scratchDir string
)

func TestMain(m *testing.M) {
	missing = movertest.MissingTools("rsync", "stunnel")
	// Unprivileged movers run as nobody and must reach the binary and their directories.
	movertest.Main(m, movertest.Setup{Bin: "rsync-tls", Missing: missing, Scratch: &scratchDir, Mover: &moverBin})
}

// must panics on a set-up error.
var must = treetest.Must

func requireTools(t *testing.T) {
	t.Helper()
	movertest.RequireTools(t, missing)
}

// env is one mover's world: its directories, its identity and its PSK file.
type env struct {
	*movertest.Env
	key string
}

// newEnv makes a data directory, TMPDIR and key file owned by uid.
func newEnv(t *testing.T, name string, uid int, pskLine string) *env {
	t.Helper()
	e := &env{Env: movertest.NewEnv(t, scratchDir, name, uid)}
	e.key = filepath.Join(e.Dir, "psk.txt")
	must(os.WriteFile(e.key, []byte(pskLine+"\n"), 0o600))
	must(os.Chown(e.key, uid, uid))
	return e
}

func newPSK(identity string) string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	return identity + ":" + hex.EncodeToString(b)
}

func (e *env) start(mode string, extra ...string) *movertest.Process {
	e.T.Helper()
	vars := append(e.BaseEnv(), EnvKeyFile+"="+e.key)
	return e.Start(append(vars, extra...), moverBin, mode)
}

func (e *env) startServer(port int, extra ...string) *movertest.Process {
	e.T.Helper()
	m := e.start("server", append([]string{mover.EnvListenPort + "=" + strconv.Itoa(port)}, extra...)...)
	m.WaitFor(e.T, ReadyMessage, readyTimeout)
	return m
}

func (e *env) runClient(port int, timeout time.Duration, extra ...string) (*movertest.Process, int) {
	e.T.Helper()
	m := e.start("client", append([]string{
		mover.EnvDestinationAddress + "=127.0.0.1",
		mover.EnvDestinationPort + "=" + strconv.Itoa(port),
	}, extra...)...)
	return m, m.Wait(e.T, timeout)
}

// sync1 runs one server and one client to completion and checks both succeeded.
func sync1(t *testing.T, src, dst *env, timeout time.Duration) (client, server result.Result) {
	t.Helper()
	port := movertest.FreePort(t)
	srv := dst.startServer(port)
	cli, rc := src.runClient(port, timeout)
	client, server = movertest.CheckSynced(t, src.Env, dst.Env, cli, srv, rc)
	if server.BytesSent != client.BytesSent || server.FilesTransferred != client.FilesTransferred {
		t.Fatalf("the destination reports other numbers than the source: %+v vs %+v", server, client)
	}
	return client, server
}
