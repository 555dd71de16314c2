package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/rsync"
	"github.com/volsync-go/volsync/images/internal/treetest"
)

func TestSyncPrivileged(t *testing.T) {
	requireTools(t)
	if os.Geteuid() != 0 {
		t.Skip("privileged mode needs root")
	}
	psk := newPSK("volsync")
	src, dst := newEnv(t, "src", 0, psk), newEnv(t, "dst", 0, psk)
	treetest.Build(t, src.Data, true)
	treetest.SeedStale(t, dst.Data, 0)
	must(os.Mkdir(filepath.Join(src.Data, "lost+found"), 0o700)) // not sent
	must(os.WriteFile(filepath.Join(src.Data, "lost+found/x"), nil, 0o600))

	first, _ := sync1(t, src, dst, exitTimeout)
	must(os.RemoveAll(filepath.Join(src.Data, "lost+found")))
	treetest.CheckLostFound(t, dst.Data)
	treetest.Compare(t, src.Data, dst.Data, treetest.Opts{Owners: true})
	if first.FilesTransferred < 10 || first.BytesSent < 1<<20 {
		t.Errorf("first sync result %+v", first)
	}

	treetest.Change(t, src.Data)
	second, _ := sync1(t, src, dst, exitTimeout)
	treetest.Compare(t, src.Data, dst.Data, treetest.Opts{Owners: true})
	if second.FilesTransferred != treetest.ChangedFiles {
		t.Errorf("second sync transferred %d files, want 3 (%+v)", second.FilesTransferred, second)
	}

	third, _ := sync1(t, src, dst, exitTimeout)
	treetest.Compare(t, src.Data, dst.Data, treetest.Opts{Owners: true})
	if third.FilesTransferred != 0 || third.BytesSent > 64<<10 {
		t.Errorf("a sync without changes sent %+v", third)
	}
}

func TestSyncUnprivileged(t *testing.T) {
	requireTools(t)
	if os.Geteuid() != 0 {
		t.Skip("the test runs the movers as nobody, which needs root")
	}
	psk := newPSK("volsync")
	src, dst := newEnv(t, "src", nobody, psk), newEnv(t, "dst", nobody, psk)
	treetest.PrepareUnprivileged(t, src.Data, dst.Data, nobody)

	sync1(t, src, dst, exitTimeout)
	treetest.CheckLostFound(t, dst.Data)
	opts := treetest.Opts{OwnerUID: nobody, SkipRoot: true}
	treetest.Compare(t, src.Data, dst.Data, opts)

	treetest.Change(t, src.Data)
	treetest.Chown(t, src.Data, nobody)
	second, _ := sync1(t, src, dst, exitTimeout)
	treetest.Compare(t, src.Data, dst.Data, opts)
	if second.FilesTransferred != treetest.ChangedFiles {
		t.Errorf("second sync transferred %d files, want 3", second.FilesTransferred)
	}
}

func TestManyEntriesInRoot(t *testing.T) {
	requireTools(t)
	const n = 100_000
	psk := newPSK("volsync")
	src, dst := newEnv(t, "src", 0, psk), newEnv(t, "dst", 0, psk)
	for i := range n {
		must(os.WriteFile(filepath.Join(src.Data, "f"+strconv.Itoa(i)), []byte(strconv.Itoa(i)), 0o644))
	}
	start := time.Now()
	client, _ := sync1(t, src, dst, bigSyncTimeout)
	t.Logf("%d entries synced in %s", n, time.Since(start))
	if client.FilesTransferred != n {
		t.Errorf("transferred %d files, want %d", client.FilesTransferred, n)
	}
	entries, err := os.ReadDir(dst.Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d entries on the destination, want %d", len(entries), n)
	}
	for _, i := range []int{0, 4242, n - 1} {
		b, err := os.ReadFile(filepath.Join(dst.Data, "f"+strconv.Itoa(i)))
		if err != nil || string(b) != strconv.Itoa(i) {
			t.Errorf("f%d: %q %v", i, b, err)
		}
	}
}

// checkFailed checks a failed mover: exit code, a one-line reason on stderr, the same reason in
// the result.
func checkFailed(t *testing.T, e *env, m *movertest.Process, rc, wantRC int, wantReason ...string) {
	t.Helper()
	movertest.CheckFailed(t, e.Env, m, rc, wantRC, wantReason...)
}

func TestPSKMismatch(t *testing.T) {
	requireTools(t)
	good := newPSK("volsync")
	src, dst := newEnv(t, "src", 0, good), newEnv(t, "dst", 0, good)
	must(os.WriteFile(filepath.Join(src.Data, "f"), []byte("x"), 0o644))
	port := movertest.FreePort(t)
	srv := dst.startServer(port)

	for name, psk := range map[string]string{"wrong key": newPSK("volsync"), "unknown identity": newPSK("other")} {
		bad := newEnv(t, "bad", 0, psk)
		start := time.Now()
		cli, rc := bad.runClient(port, exitTimeout)
		checkFailed(t, bad, cli, rc, rsync.ExitFailed, "TLS handshake with 127.0.0.1:"+strconv.Itoa(port)+" failed: PSK mismatch?")
		if strings.Contains(cli.Out(), "retrying") || time.Since(start) > 15*time.Second {
			t.Errorf("%s: a handshake failure is not retried", name)
		}
		if strings.Contains(cli.Out()+cli.ErrOut(), strings.SplitN(psk, ":", 2)[1]) {
			t.Errorf("%s: the key was logged", name)
		}
	}
	// The destination logs the failures and keeps waiting for its source.
	srv.WaitFor(t, "TLS handshake from", readyTimeout)
	if !srv.Running() {
		t.Fatal("the server stopped after a bad client")
	}
	if strings.Contains(srv.Out(), strings.SplitN(good, ":", 2)[1]) {
		t.Error("the server logged its key")
	}
	cli, rc := src.runClient(port, exitTimeout)
	if rc != 0 {
		t.Fatalf("good client after bad ones: exit %d %s", rc, cli.ErrOut())
	}
	if rc := srv.Wait(t, exitTimeout); rc != 0 {
		t.Fatalf("server exit %d", rc)
	}
	if r := dst.Result(); !r.Succeeded() {
		t.Fatalf("server result %+v", r)
	}
}

func TestUnreachableDestination(t *testing.T) {
	requireTools(t)
	src := newEnv(t, "src", 0, newPSK("volsync"))
	port := movertest.FreePort(t) // closed: nothing listens there
	cli, rc := src.runClient(port, exitTimeout, mover.EnvRetryDelay+"=10ms")
	checkFailed(t, src, cli, rc, rsync.ExitFailed,
		fmt.Sprintf("destination 127.0.0.1:%d unreachable after %d attempts", port, rsync.MaxAttempts), "Connection refused")
	if got := strings.Count(cli.Out(), "retrying in"); got != rsync.MaxAttempts-1 {
		t.Errorf("%d retries logged, want %d", got, rsync.MaxAttempts-1)
	}
}

func TestMalformedPSK(t *testing.T) {
	requireTools(t)
	cases := map[string]string{
		"empty":     "",
		"no colon":  "volsync0123456789abcdef0123456789abcdef",
		"short key": "volsync:abcd",
		"not hex":   "volsync:" + strings.Repeat("secretzz", 8),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, "psk", 0, "")
			must(os.WriteFile(e.key, []byte(content), 0o600))
			srv := e.start("server", mover.EnvListenPort+"="+strconv.Itoa(movertest.FreePort(t)))
			checkFailed(t, e, srv, srv.Wait(t, exitTimeout), rsync.ExitFailed, "PSK file "+e.key+": malformed PSK")
			cli, rc := e.runClient(movertest.FreePort(t), exitTimeout)
			checkFailed(t, e, cli, rc, rsync.ExitFailed, "PSK file "+e.key+": malformed PSK")
			if content != "" && strings.Contains(cli.ErrOut()+cli.Out()+srv.ErrOut()+srv.Out(), content[8:]) {
				t.Error("the key was printed")
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		e := newEnv(t, "psk", 0, "")
		must(os.Remove(e.key))
		cli, rc := e.runClient(movertest.FreePort(t), exitTimeout)
		checkFailed(t, e, cli, rc, rsync.ExitFailed, "reading PSK file", "no such file")
	})
}

func TestFailedSyncDoesNotSignalDone(t *testing.T) {
	requireTools(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a file the unprivileged source cannot read")
	}
	psk := newPSK("volsync")
	src, dst := newEnv(t, "src", nobody, psk), newEnv(t, "dst", 0, psk)
	must(os.WriteFile(filepath.Join(src.Data, "readable"), []byte("x"), 0o644))
	must(os.WriteFile(filepath.Join(src.Data, "secret"), []byte("x"), 0o600)) // root's: unreadable
	port := movertest.FreePort(t)
	srv := dst.startServer(port)
	cli, rc := src.runClient(port, exitTimeout)
	checkFailed(t, src, cli, rc, rsync.ExitFailed, "rsync exit 23", "secret")
	checkNotCompleted(t, dst, srv)
	// Stopped by Kubernetes: a failed result, not a hang.
	must(srv.Cmd.Process.Signal(syscall.SIGTERM))
	checkFailed(t, dst, srv, srv.Wait(t, exitTimeout), rsync.ExitFailed, "terminated before the source finished")
	if leftovers, _ := filepath.Glob(filepath.Join(dst.Tmp, "*")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

// checkNotCompleted checks that the destination got no completion marker and still waits.
func checkNotCompleted(t *testing.T, dst *env, srv *movertest.Process) {
	t.Helper()
	markers, _ := filepath.Glob(filepath.Join(dst.Tmp, "rsync-tls-server-*", ControlModule, DoneMarker))
	if len(markers) != 0 || !srv.Running() {
		t.Fatalf("a failed sync signalled completion (markers %v, server running %v)", markers, srv.Running())
	}
}

// TestUnprivilegedSourceOtherUsersFiles: the default source mover (uid 65534) copies what the
// application (another uid) lets everyone read, and when some entries are not readable it fails,
// naming them and what to do: never a partial copy reported as a success.
func TestUnprivilegedSourceOtherUsersFiles(t *testing.T) {
	requireTools(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test writes files as another uid and runs the source mover as uid 65534 (CI runs as root)")
	}
	const appUID = 1000
	psk := newPSK("volsync")
	src, dst := newEnv(t, "src", nobody, psk), newEnv(t, "dst", nobody, psk)
	p := func(rel string) string { return filepath.Join(src.Data, rel) }
	must(os.MkdirAll(p("docs/sub"), 0o755))
	must(os.WriteFile(p("docs/readme.txt"), []byte("world-readable"), 0o644))
	must(os.WriteFile(p("docs/run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.WriteFile(p("docs/sub/group.txt"), []byte("group and world"), 0o664))
	must(os.Link(p("docs/readme.txt"), p("docs/sub/hardlink")))
	must(os.Symlink("docs/readme.txt", p("latest")))
	treetest.Chown(t, src.Data, appUID)
	treetest.SetTimes(t, src.Data)

	sync1(t, src, dst, exitTimeout)
	// Contents, modes, times, symlinks and hard links arrive; every entry belongs to the mover.
	treetest.Compare(t, src.Data, dst.Data, treetest.Opts{OwnerUID: nobody, SkipRoot: true})

	// What the application keeps to itself.
	must(os.WriteFile(p("docs/secret.key"), []byte("owner only"), 0o600))
	must(os.MkdirAll(p("private/cache"), 0o700))
	must(os.WriteFile(p("private/cache/x"), []byte("x"), 0o644))
	treetest.Chown(t, src.Data, appUID)
	port := movertest.FreePort(t)
	srv := dst.startServer(port)
	cli, rc := src.runClient(port, exitTimeout)
	checkFailed(t, src, cli, rc, rsync.ExitFailed, "the mover (uid 65534) cannot read 2 source entries (permission denied)",
		`"docs/secret.key"`, `"private"`, "moverSecurityContext", `volsync.backube/privileged-movers="true"`)
	checkNotCompleted(t, dst, srv)
}

func TestConfigurationErrors(t *testing.T) {
	requireTools(t)
	e := newEnv(t, "cfg", 0, newPSK("volsync"))
	m := e.start("client")
	checkFailed(t, e, m, m.Wait(t, exitTimeout), rsync.ExitUsage, mover.EnvDestinationAddress)
	m = e.start("sideways")
	checkFailed(t, e, m, m.Wait(t, exitTimeout), rsync.ExitUsage, "unknown mode")
	m = e.start("server", mover.EnvDataDir+"=/nonexistent", mover.EnvListenPort+"="+strconv.Itoa(movertest.FreePort(t)))
	checkFailed(t, e, m, m.Wait(t, exitTimeout), rsync.ExitFailed, "data directory")
}

func TestPortInUse(t *testing.T) {
	requireTools(t)
	psk := newPSK("volsync")
	a, b := newEnv(t, "a", 0, psk), newEnv(t, "b", 0, psk)
	port := movertest.FreePort(t)
	a.startServer(port)
	m := b.start("server", mover.EnvListenPort+"="+strconv.Itoa(port))
	checkFailed(t, b, m, m.Wait(t, exitTimeout), rsync.ExitFailed, "stunnel exited", "Address already in use")
}

func TestDebugModeKeepsKeySecret(t *testing.T) {
	requireTools(t)
	psk := newPSK("volsync")
	key := strings.SplitN(psk, ":", 2)[1]
	src, dst := newEnv(t, "src", 0, psk), newEnv(t, "dst", 0, psk)
	must(os.WriteFile(filepath.Join(src.Data, "f"), []byte("x"), 0o644))
	port := movertest.FreePort(t)
	srv := dst.startServer(port, mover.EnvDebug+"=1")
	cli, rc := src.runClient(port, exitTimeout, mover.EnvDebug+"=1")
	if rc != 0 {
		t.Fatalf("client exit %d", rc)
	}
	if rc := srv.Wait(t, exitTimeout); rc != 0 {
		t.Fatalf("server exit %d", rc)
	}
	if !strings.Contains(cli.Out(), "<f+++++++++ f") {
		t.Error("debug mode shows no itemized changes")
	}
	if !strings.Contains(srv.Out(), "stunnel: ") {
		t.Error("debug mode shows no stunnel log")
	}
	for name, out := range map[string]string{"client": cli.Out() + cli.ErrOut(), "server": srv.Out() + srv.ErrOut()} {
		if strings.Contains(strings.ToLower(out), key) {
			t.Errorf("the %s logged the key", name)
		}
	}
}
