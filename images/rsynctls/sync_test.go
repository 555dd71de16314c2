package rsynctls_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/rsynctls"
)

// seedStale puts entries on the destination that the sync must remove or replace.
func seedStale(t *testing.T, root string, uid int) {
	t.Helper()
	must(os.WriteFile(filepath.Join(root, "stale.txt"), []byte("old"), 0o644))
	must(os.MkdirAll(filepath.Join(root, "staledir/x"), 0o755))
	must(os.WriteFile(filepath.Join(root, "staledir/x/y.txt"), []byte("old"), 0o644))
	must(os.WriteFile(filepath.Join(root, "dir"), []byte("a file where the source has a directory"), 0o644))
	must(os.Mkdir(filepath.Join(root, "pipe"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "lost+found/kept"), 0o700))
	chownTree(t, root, uid)
	// lost+found is the filesystem's: never sent, never deleted.
}

// changeTree modifies, deletes and adds entries for a second sync.
func changeTree(t *testing.T, root string) {
	t.Helper()
	p := func(rel string) string { return filepath.Join(root, rel) }
	must(os.WriteFile(p("file.txt"), []byte("HELLO"), 0o644)) // same size, new content
	must(os.Remove(p("exec.sh")))
	must(os.Remove(p("hl-c")))
	must(os.MkdirAll(p("newdir"), 0o755))
	must(os.WriteFile(p("newdir/new.txt"), []byte("new"), 0o644))
	must(os.Remove(p("dir/rel-link")))
	must(os.Symlink("../private", p("dir/rel-link")))
	must(os.Chmod(p("private"), 0o640))
	must(os.RemoveAll(p("emptydir")))
	must(os.WriteFile(p("emptydir"), []byte("now a file"), 0o644))
	mt := time.Now().Add(-time.Hour)
	for _, rel := range []string{"file.txt", "newdir/new.txt", "emptydir"} {
		must(os.Chtimes(p(rel), mt, mt))
	}
}

func checkLostFound(t *testing.T, dst string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dst, "lost+found/kept")); err != nil {
		t.Errorf("lost+found on the destination was touched: %v", err)
	}
	must(os.RemoveAll(filepath.Join(dst, "lost+found")))
}

func TestSyncPrivileged(t *testing.T) {
	requireTools(t)
	if os.Geteuid() != 0 {
		t.Skip("privileged mode needs root")
	}
	psk := newPSK("volsync")
	src, dst := newEnv(t, "src", 0, psk), newEnv(t, "dst", 0, psk)
	buildTree(t, src.data, true)
	seedStale(t, dst.data, 0)
	must(os.Mkdir(filepath.Join(src.data, "lost+found"), 0o700)) // not sent
	must(os.WriteFile(filepath.Join(src.data, "lost+found/x"), nil, 0o600))

	first, _ := sync1(t, src, dst, exitTimeout)
	must(os.RemoveAll(filepath.Join(src.data, "lost+found")))
	checkLostFound(t, dst.data)
	compareTrees(t, src.data, dst.data, compareOpts{owners: true})
	if first.FilesTransferred < 10 || first.BytesSent < 1<<20 {
		t.Errorf("first sync result %+v", first)
	}

	changeTree(t, src.data)
	second, _ := sync1(t, src, dst, exitTimeout)
	compareTrees(t, src.data, dst.data, compareOpts{owners: true})
	if second.FilesTransferred != 3 { // file.txt, newdir/new.txt, emptydir (now a file)
		t.Errorf("second sync transferred %d files, want 3 (%+v)", second.FilesTransferred, second)
	}

	third, _ := sync1(t, src, dst, exitTimeout)
	compareTrees(t, src.data, dst.data, compareOpts{owners: true})
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
	buildTree(t, src.data, false)
	chownTree(t, src.data, nobody)
	setTimes(t, src.data)
	seedStale(t, dst.data, nobody)
	// Like a volume root prepared by kubelet: writable for the mover, owned by someone else,
	// so rsync cannot set its times or mode.
	must(os.Chown(dst.data, 0, 0))
	must(os.Chmod(dst.data, 0o777))
	must(os.Chtimes(dst.data, baseTime, baseTime))

	sync1(t, src, dst, exitTimeout)
	checkLostFound(t, dst.data)
	opts := compareOpts{ownerUID: nobody, skipRoot: true}
	compareTrees(t, src.data, dst.data, opts)

	changeTree(t, src.data)
	chownTree(t, src.data, nobody)
	second, _ := sync1(t, src, dst, exitTimeout)
	compareTrees(t, src.data, dst.data, opts)
	if second.FilesTransferred != 3 {
		t.Errorf("second sync transferred %d files, want 3", second.FilesTransferred)
	}
}

func TestManyEntriesInRoot(t *testing.T) {
	requireTools(t)
	const n = 100_000
	psk := newPSK("volsync")
	src, dst := newEnv(t, "src", 0, psk), newEnv(t, "dst", 0, psk)
	for i := range n {
		must(os.WriteFile(filepath.Join(src.data, "f"+strconv.Itoa(i)), []byte(strconv.Itoa(i)), 0o644))
	}
	start := time.Now()
	client, _ := sync1(t, src, dst, bigSyncTimeout)
	t.Logf("%d entries synced in %s", n, time.Since(start))
	if client.FilesTransferred != n {
		t.Errorf("transferred %d files, want %d", client.FilesTransferred, n)
	}
	entries, err := os.ReadDir(dst.data)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d entries on the destination, want %d", len(entries), n)
	}
	for _, i := range []int{0, 4242, n - 1} {
		b, err := os.ReadFile(filepath.Join(dst.data, "f"+strconv.Itoa(i)))
		if err != nil || string(b) != strconv.Itoa(i) {
			t.Errorf("f%d: %q %v", i, b, err)
		}
	}
}

// checkFailed checks a failed mover: exit code, a one-line reason on stderr, the same reason in
// the result.
func checkFailed(t *testing.T, e *env, m *mover, rc, wantRC int, wantReason ...string) {
	t.Helper()
	if rc != wantRC {
		t.Fatalf("exit code %d, want %d; stderr %q", rc, wantRC, m.errOut())
	}
	stderr := m.errOut()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("stderr must be exactly one line: %q", stderr)
	}
	r := e.result()
	if r.Outcome != result.OutcomeFailed || r.Error != strings.TrimSuffix(stderr, "\n") {
		t.Fatalf("result %+v does not carry the reason %q", r, stderr)
	}
	for _, want := range wantReason {
		if !strings.Contains(stderr, want) {
			t.Fatalf("reason %q does not contain %q", stderr, want)
		}
	}
}

func TestPSKMismatch(t *testing.T) {
	requireTools(t)
	good := newPSK("volsync")
	src, dst := newEnv(t, "src", 0, good), newEnv(t, "dst", 0, good)
	must(os.WriteFile(filepath.Join(src.data, "f"), []byte("x"), 0o644))
	port := freePort(t)
	srv := dst.startServer(port)

	for name, psk := range map[string]string{"wrong key": newPSK("volsync"), "unknown identity": newPSK("other")} {
		bad := newEnv(t, "bad", 0, psk)
		start := time.Now()
		cli, rc := bad.runClient(port, exitTimeout)
		checkFailed(t, bad, cli, rc, rsynctls.ExitFailed, "TLS handshake with 127.0.0.1:"+strconv.Itoa(port)+" failed: PSK mismatch?")
		if strings.Contains(cli.out(), "retrying") || time.Since(start) > 15*time.Second {
			t.Errorf("%s: a handshake failure is not retried", name)
		}
		if strings.Contains(cli.out()+cli.errOut(), strings.SplitN(psk, ":", 2)[1]) {
			t.Errorf("%s: the key was logged", name)
		}
	}
	// The destination logs the failures and keeps waiting for its source.
	srv.waitFor(t, "TLS handshake from", readyTimeout)
	if !srv.running() {
		t.Fatal("the server stopped after a bad client")
	}
	if strings.Contains(srv.out(), strings.SplitN(good, ":", 2)[1]) {
		t.Error("the server logged its key")
	}
	cli, rc := src.runClient(port, exitTimeout)
	if rc != 0 {
		t.Fatalf("good client after bad ones: exit %d %s", rc, cli.errOut())
	}
	if rc := srv.wait(t, exitTimeout); rc != 0 {
		t.Fatalf("server exit %d", rc)
	}
	if r := dst.result(); !r.Succeeded() {
		t.Fatalf("server result %+v", r)
	}
}

func TestUnreachableDestination(t *testing.T) {
	requireTools(t)
	src := newEnv(t, "src", 0, newPSK("volsync"))
	port := freePort(t) // closed: nothing listens there
	cli, rc := src.runClient(port, exitTimeout, rsynctls.EnvRetryDelay+"=10ms")
	checkFailed(t, src, cli, rc, rsynctls.ExitFailed,
		fmt.Sprintf("destination 127.0.0.1:%d unreachable after %d attempts", port, rsynctls.MaxAttempts), "Connection refused")
	if got := strings.Count(cli.out(), "retrying in"); got != rsynctls.MaxAttempts-1 {
		t.Errorf("%d retries logged, want %d", got, rsynctls.MaxAttempts-1)
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
			srv := e.start("server", rsynctls.EnvListenPort+"="+strconv.Itoa(freePort(t)))
			checkFailed(t, e, srv, srv.wait(t, exitTimeout), rsynctls.ExitFailed, "PSK file "+e.key+": malformed PSK")
			cli, rc := e.runClient(freePort(t), exitTimeout)
			checkFailed(t, e, cli, rc, rsynctls.ExitFailed, "PSK file "+e.key+": malformed PSK")
			if content != "" && strings.Contains(cli.errOut()+cli.out()+srv.errOut()+srv.out(), content[8:]) {
				t.Error("the key was printed")
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		e := newEnv(t, "psk", 0, "")
		must(os.Remove(e.key))
		cli, rc := e.runClient(freePort(t), exitTimeout)
		checkFailed(t, e, cli, rc, rsynctls.ExitFailed, "reading PSK file", "no such file")
	})
}

func TestFailedSyncDoesNotSignalDone(t *testing.T) {
	requireTools(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a file the unprivileged source cannot read")
	}
	psk := newPSK("volsync")
	src, dst := newEnv(t, "src", nobody, psk), newEnv(t, "dst", 0, psk)
	must(os.WriteFile(filepath.Join(src.data, "readable"), []byte("x"), 0o644))
	must(os.WriteFile(filepath.Join(src.data, "secret"), []byte("x"), 0o600)) // root's: unreadable
	port := freePort(t)
	srv := dst.startServer(port)
	cli, rc := src.runClient(port, exitTimeout)
	checkFailed(t, src, cli, rc, rsynctls.ExitFailed, "rsync exit 23", "secret")
	checkNotCompleted(t, dst, srv)
	// Stopped by Kubernetes: a failed result, not a hang.
	must(srv.cmd.Process.Signal(syscall.SIGTERM))
	checkFailed(t, dst, srv, srv.wait(t, exitTimeout), rsynctls.ExitFailed, "terminated before the source finished")
	if leftovers, _ := filepath.Glob(filepath.Join(dst.tmp, "*")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

// checkNotCompleted checks that the destination got no completion marker and still waits.
func checkNotCompleted(t *testing.T, dst *env, srv *mover) {
	t.Helper()
	markers, _ := filepath.Glob(filepath.Join(dst.tmp, "rsync-tls-server-*", rsynctls.ControlModule, rsynctls.DoneMarker))
	if len(markers) != 0 || !srv.running() {
		t.Fatalf("a failed sync signalled completion (markers %v, server running %v)", markers, srv.running())
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
	p := func(rel string) string { return filepath.Join(src.data, rel) }
	must(os.MkdirAll(p("docs/sub"), 0o755))
	must(os.WriteFile(p("docs/readme.txt"), []byte("world-readable"), 0o644))
	must(os.WriteFile(p("docs/run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.WriteFile(p("docs/sub/group.txt"), []byte("group and world"), 0o664))
	must(os.Link(p("docs/readme.txt"), p("docs/sub/hardlink")))
	must(os.Symlink("docs/readme.txt", p("latest")))
	chownTree(t, src.data, appUID)
	setTimes(t, src.data)

	sync1(t, src, dst, exitTimeout)
	// Contents, modes, times, symlinks and hard links arrive; every entry belongs to the mover.
	compareTrees(t, src.data, dst.data, compareOpts{ownerUID: nobody, skipRoot: true})

	// What the application keeps to itself.
	must(os.WriteFile(p("docs/secret.key"), []byte("owner only"), 0o600))
	must(os.MkdirAll(p("private/cache"), 0o700))
	must(os.WriteFile(p("private/cache/x"), []byte("x"), 0o644))
	chownTree(t, src.data, appUID)
	port := freePort(t)
	srv := dst.startServer(port)
	cli, rc := src.runClient(port, exitTimeout)
	checkFailed(t, src, cli, rc, rsynctls.ExitFailed, "the mover (uid 65534) cannot read 2 source entries (permission denied)",
		`"docs/secret.key"`, `"private"`, "moverSecurityContext", `volsync.backube/privileged-movers="true"`)
	checkNotCompleted(t, dst, srv)
}

func TestConfigurationErrors(t *testing.T) {
	requireTools(t)
	e := newEnv(t, "cfg", 0, newPSK("volsync"))
	m := e.start("client")
	checkFailed(t, e, m, m.wait(t, exitTimeout), rsynctls.ExitUsage, rsynctls.EnvDestinationAddress)
	m = e.start("sideways")
	checkFailed(t, e, m, m.wait(t, exitTimeout), rsynctls.ExitUsage, "unknown mode")
	m = e.start("server", rsynctls.EnvDataDir+"=/nonexistent", rsynctls.EnvListenPort+"="+strconv.Itoa(freePort(t)))
	checkFailed(t, e, m, m.wait(t, exitTimeout), rsynctls.ExitFailed, "data directory")
}

func TestPortInUse(t *testing.T) {
	requireTools(t)
	psk := newPSK("volsync")
	a, b := newEnv(t, "a", 0, psk), newEnv(t, "b", 0, psk)
	port := freePort(t)
	a.startServer(port)
	m := b.start("server", rsynctls.EnvListenPort+"="+strconv.Itoa(port))
	checkFailed(t, b, m, m.wait(t, exitTimeout), rsynctls.ExitFailed, "stunnel exited", "Address already in use")
}

func TestDebugModeKeepsKeySecret(t *testing.T) {
	requireTools(t)
	psk := newPSK("volsync")
	key := strings.SplitN(psk, ":", 2)[1]
	src, dst := newEnv(t, "src", 0, psk), newEnv(t, "dst", 0, psk)
	must(os.WriteFile(filepath.Join(src.data, "f"), []byte("x"), 0o644))
	port := freePort(t)
	srv := dst.startServer(port, rsynctls.EnvDebug+"=1")
	cli, rc := src.runClient(port, exitTimeout, rsynctls.EnvDebug+"=1")
	if rc != 0 {
		t.Fatalf("client exit %d", rc)
	}
	if rc := srv.wait(t, exitTimeout); rc != 0 {
		t.Fatalf("server exit %d", rc)
	}
	if !strings.Contains(cli.out(), "<f+++++++++ f") {
		t.Error("debug mode shows no itemized changes")
	}
	if !strings.Contains(srv.out(), "stunnel: ") {
		t.Error("debug mode shows no stunnel log")
	}
	for name, out := range map[string]string{"client": cli.out() + cli.errOut(), "server": srv.out() + srv.errOut()} {
		if strings.Contains(strings.ToLower(out), key) {
			t.Errorf("the %s logged the key", name)
		}
	}
}
