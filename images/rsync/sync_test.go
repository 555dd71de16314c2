package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/volsync-go/volsync/images/contract/mover"
	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/rsync"
	"github.com/volsync-go/volsync/images/internal/treetest"
)

// TestSyncUnprivileged is the default: both movers run as a uid that has no passwd entry (a
// pod's runAsUser), every entry on the destination belongs to it.
func TestSyncUnprivileged(t *testing.T) {
	requireTools(t)
	src, dst := newEnv(t, "src", unprivileged, "good"), newEnv(t, "dst", unprivileged, "good")
	treetest.PrepareUnprivileged(t, src.Data, dst.Data, unprivileged)

	first, _ := sync1(t, src, dst)
	treetest.CheckLostFound(t, dst.Data)
	opts := treetest.Opts{OwnerUID: unprivileged, SkipRoot: true}
	treetest.Compare(t, src.Data, dst.Data, opts)
	if first.FilesTransferred < 10 || first.BytesSent < 1<<20 {
		t.Errorf("first sync result %+v", first)
	}

	treetest.Change(t, src.Data)
	treetest.Chown(t, src.Data, unprivileged)
	second, _ := sync1(t, src, dst)
	treetest.Compare(t, src.Data, dst.Data, opts)
	if second.FilesTransferred != treetest.ChangedFiles {
		t.Errorf("second sync transferred %d files, want %d", second.FilesTransferred, treetest.ChangedFiles)
	}
}

// TestSyncPrivileged: both movers as root keep ownership (numeric ids) and device files.
func TestSyncPrivileged(t *testing.T) {
	requireTools(t)
	src, dst := newEnv(t, "src", 0, "good"), newEnv(t, "dst", 0, "good")
	treetest.Build(t, src.Data, true)
	must(syscall.Mknod(filepath.Join(src.Data, "null"), syscall.S_IFCHR|0o666, 1<<8|3))
	treetest.SetTimes(t, src.Data)
	treetest.SeedStale(t, dst.Data, 0)
	must(os.Mkdir(filepath.Join(src.Data, "lost+found"), 0o700)) // not sent
	must(os.WriteFile(filepath.Join(src.Data, "lost+found/x"), nil, 0o600))

	sync1(t, src, dst)
	must(os.RemoveAll(filepath.Join(src.Data, "lost+found")))
	treetest.CheckLostFound(t, dst.Data)
	opts := treetest.Opts{Owners: true}
	treetest.Compare(t, src.Data, dst.Data, opts)
	if fi, err := os.Lstat(filepath.Join(dst.Data, "null")); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("device file not kept: %v %v", fi, err)
	}

	treetest.Change(t, src.Data)
	second, _ := sync1(t, src, dst)
	treetest.Compare(t, src.Data, dst.Data, opts)
	if second.FilesTransferred != treetest.ChangedFiles {
		t.Errorf("second sync transferred %d files, want %d", second.FilesTransferred, treetest.ChangedFiles)
	}
	third, _ := sync1(t, src, dst)
	if third.FilesTransferred != 0 || third.BytesSent > 64<<10 {
		t.Errorf("a sync without changes sent %+v", third)
	}
}

// TestWrongSourceKey: the destination refuses another source key; the source says so at once
// (no retries for login root) and the destination keeps waiting for its source.
func TestWrongSourceKey(t *testing.T) {
	requireTools(t)
	_, port, d := listening(t)
	bad := newEnv(t, "bad", unprivileged, "wrong-source")
	s, rc := bad.runSource(port)
	checkFailed(t, bad, s, rc, rsync.ExitFailed, `refused the login "root" with the source key (permission denied)`, rsyncc.SourcePub)
	if strings.Contains(s.Out(), "retrying") {
		t.Error("a refused key is not retried")
	}
	d.WaitFor(t, "offered no authorised key for login root", readyTimeout)
	good := newEnv(t, "good", unprivileged, "good")
	if s, rc := good.runSource(port); rc != 0 {
		t.Fatalf("the right source after a wrong one: exit %d %s", rc, s.ErrOut())
	}
	if rc := d.Wait(t, exitTimeout); rc != 0 {
		t.Fatalf("destination exit %d", rc)
	}
}

// TestHostKeyMismatch: a destination whose host key is not destination.pub is not trusted.
func TestHostKeyMismatch(t *testing.T) {
	requireTools(t)
	dst, port, d := listening(t)
	src := newEnv(t, "src", unprivileged, "wrong-host")
	must(os.WriteFile(filepath.Join(src.Data, "f"), []byte("x"), 0o644))
	s, rc := src.runSource(port)
	checkFailed(t, src, s, rc, rsync.ExitFailed, "host key mismatch: the host key of 127.0.0.1:", "is not "+rsyncc.DestinationPub)
	if entries, _ := os.ReadDir(dst.Data); len(entries) != 0 || !d.Running() {
		t.Fatalf("data reached an untrusted destination (%d entries) or it stopped", len(entries))
	}
}

// TestUnreachableDestination: a closed port is retried with a doubling delay, then reported.
func TestUnreachableDestination(t *testing.T) {
	requireTools(t)
	src := newEnv(t, "src", unprivileged, "good")
	port := movertest.FreePort(t) // closed: nothing listens there
	s, rc := src.runSource(port, mover.EnvRetryDelay+"=10ms")
	checkFailed(t, src, s, rc, rsync.ExitFailed, "destination 127.0.0.1:", "unreachable after 5 attempts", "Connection refused")
	if got := strings.Count(s.Out(), "retrying in"); got != rsync.MaxAttempts-1 {
		t.Errorf("%d retries logged, want %d", got, rsync.MaxAttempts-1)
	}
}

// TestUnreadableSource: a non-root source that may not read an entry fails naming it, does not
// send shutdown 0, and the destination, stopped by Kubernetes, reports a failure.
func TestUnreadableSource(t *testing.T) {
	requireTools(t)
	src := newEnv(t, "src", unprivileged, "good")
	must(os.WriteFile(filepath.Join(src.Data, "readable"), []byte("x"), 0o644))
	must(os.WriteFile(filepath.Join(src.Data, "secret"), []byte("x"), 0o600)) // root's
	dst, port, d := listening(t)
	s, rc := src.runSource(port)
	checkFailed(t, src, s, rc, rsync.ExitFailed, "rsync exit 23: the mover (uid 4242) cannot read 1 source entry", `"secret"`, "moverSecurityContext")
	if strings.Contains(d.Out(), "shutdown") || !d.Running() {
		t.Fatal("a failed sync ended the destination")
	}
	must(d.Cmd.Process.Signal(syscall.SIGTERM))
	checkFailed(t, dst, d, d.Wait(t, exitTimeout), rsync.ExitFailed, "terminated before the source finished")
	if leftovers, _ := filepath.Glob(filepath.Join(dst.Tmp, "*")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

// TestShutdownCode: the destination exits with the code the source sends.
func TestShutdownCode(t *testing.T) {
	requireTools(t)
	dst, port, d := listening(t)
	if out, rc := sshClient(t, "good", port, "root", "shutdown", "3"); rc != 0 || !strings.Contains(out, "exiting with code 3") {
		t.Fatalf("shutdown 3: exit %d %q", rc, out)
	}
	checkFailed(t, dst, d, d.Wait(t, exitTimeout), 3, `the source ended the sync with "shutdown 3"`)
}

func TestConfigurationErrors(t *testing.T) {
	requireTools(t)
	e := newEnv(t, "cfg", unprivileged, "good")
	m := e.start("source")
	checkFailed(t, e, m, m.Wait(t, exitTimeout), rsync.ExitUsage, mover.EnvDestinationAddress)
	m = e.start("source", mover.EnvDestinationAddress+"=h", rsyncc.EnvSSHUser+"=a:b")
	checkFailed(t, e, m, m.Wait(t, exitTimeout), rsync.ExitUsage, rsyncc.EnvSSHUser)
	m = e.start("sideways")
	checkFailed(t, e, m, m.Wait(t, exitTimeout), rsync.ExitUsage, "unknown mode", "destination|source")
	m = e.start("destination", mover.EnvKeysDir+"="+e.Tmp, mover.EnvListenPort+"="+"8022")
	checkFailed(t, e, m, m.Wait(t, exitTimeout), rsync.ExitFailed, "host key", "destination: no such file")
	m = e.start("destination", mover.EnvDataDir+"=/nonexistent")
	checkFailed(t, e, m, m.Wait(t, exitTimeout), rsync.ExitFailed, "data directory")
}

// TestPortInUse: sshd's failure to listen is the destination's reason.
func TestPortInUse(t *testing.T) {
	requireTools(t)
	_, port, _ := listening(t)
	b := newEnv(t, "b", unprivileged, "good")
	m := b.start("destination", mover.EnvListenPort+"="+strconv.Itoa(port))
	checkFailed(t, b, m, m.Wait(t, exitTimeout), rsync.ExitFailed, "sshd exited", "Address already in use")
}

// TestDebugMode: verbose logs on both sides, never a private key.
func TestDebugMode(t *testing.T) {
	requireTools(t)
	src, dst := newEnv(t, "src", unprivileged, "good"), newEnv(t, "dst", unprivileged, "good")
	must(os.WriteFile(filepath.Join(src.Data, "f"), []byte("x"), 0o644))
	port := movertest.FreePort(t)
	d := dst.startDestination(port, mover.EnvDebug+"=1")
	s, rc := src.runSource(port, mover.EnvDebug+"=1")
	movertest.CheckSynced(t, src.Env, dst.Env, s, d, rc)
	if !strings.Contains(s.Out(), "<f+++++++++ f") {
		t.Error("debug mode shows no itemized changes")
	}
	if !strings.Contains(d.Out(), "sshd: debug1:") {
		t.Error("debug mode shows no sshd debug log")
	}
	for _, k := range []string{rsyncc.Source, rsyncc.Destination} {
		key, err := os.ReadFile(filepath.Join(keys["good"], k))
		must(err)
		secret := strings.Split(string(key), "\n")[2]
		if strings.Contains(s.Out()+s.ErrOut()+d.Out()+d.ErrOut(), secret) {
			t.Errorf("the %s key was logged", k)
		}
	}
}
