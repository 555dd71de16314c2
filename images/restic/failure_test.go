package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/s3test"
	"github.com/volsync-go/volsync/images/internal/treetest"
)

// failFast bounds a failure the mover must not retry for long.
const failFast = 30 * time.Second

// checkFailed checks a failed run: exit code, one line on stderr carried by the result, the
// reason detail and the words of the reason.
func (e *env) checkFailed(p *movertest.Process, rc, wantRC int, reason string, words ...string) {
	e.T.Helper()
	movertest.CheckFailed(e.T, e.Env, p, rc, wantRC, words...)
	if got := e.Result().Details[restic.DetailReason]; got != reason {
		e.T.Fatalf("reason %q, want %q (%s)", got, reason, p.ErrOut())
	}
	e.T.Logf("%s", p.ErrOut())
}

// TestWrongPassword: a password that does not open the repository fails at once.
func TestWrongPassword(t *testing.T) {
	repo := localRepo(t, nobody)
	e := newEnv(t, "src", nobody, repo)
	must(os.WriteFile(filepath.Join(e.Data, "f"), []byte("x"), 0o644))
	e.backup()
	for _, a := range []string{restic.ActionBackup, restic.ActionRestore} {
		p, rc := e.run([]string{a}, restic.EnvPassword+"=not-the-password")
		e.checkFailed(p, rc, restic.ExitUserAction, restic.ReasonWrongPassword, "wrong password", "RESTIC_PASSWORD")
	}
}

// TestS3CustomCA: an HTTPS S3 repository with a private CA works with CUSTOM_CA and fails at
// once, as Unreachable, without it; no secret appears anywhere.
func TestS3CustomCA(t *testing.T) {
	s3 := s3test.Start(t, s3test.Options{TLS: true})
	s3.CreateBucket(t, "volsync")
	repo := "s3:" + s3.Endpoint + "/volsync/pvc"
	src, dst := newEnv(t, "src", nobody, repo, s3Vars(s3)...), newEnv(t, "dst", nobody, repo, s3Vars(s3)...)
	ca := s3.CopyCA(t, src.Dir)
	must(os.WriteFile(filepath.Join(src.Data, "f"), []byte("over TLS"), 0o644))

	start := time.Now()
	p, rc := src.run([]string{restic.ActionBackup})
	src.checkFailed(p, rc, restic.ExitUserAction, restic.ReasonUnreachable, "not trusted", "x509", "set customCA")
	if time.Since(start) > failFast {
		t.Errorf("an untrusted certificate took %s to fail", time.Since(start))
	}
	for _, secret := range []string{password, s3.SecretKey, s3.AccessKey} {
		out, _ := os.ReadFile(src.ResultPath())
		if strings.Contains(string(out)+p.Out()+p.ErrOut(), secret) {
			t.Errorf("a secret appears in the result or the output")
		}
	}

	src.backup(restic.EnvCustomCA + "=" + ca)
	dst.restore(restic.EnvCustomCA + "=" + ca)
	if b, err := os.ReadFile(filepath.Join(dst.Data, "f")); err != nil || string(b) != "over TLS" {
		t.Fatalf("restored file: %q %v", b, err)
	}
}

// TestUnreachable: an S3 repository whose endpoint refuses connections (restic's backend
// retries it for 15 minutes) fails every action as Unreachable once the bound has passed.
func TestUnreachable(t *testing.T) {
	const bound = 2 * time.Second
	repo := "s3:http://127.0.0.1:" + strconv.Itoa(movertest.FreePort(t)) + "/volsync/pvc"
	e := newEnv(t, "src", nobody, repo, "AWS_ACCESS_KEY_ID=volsync-access", "AWS_SECRET_ACCESS_KEY=volsync-secret-key")
	must(os.WriteFile(filepath.Join(e.Data, "f"), []byte("x"), 0o644))
	for _, a := range []string{restic.ActionBackup, restic.ActionRestore, restic.ActionPrune, restic.ActionUnlock} {
		start := time.Now()
		p, rc := e.run([]string{a}, EnvOpenTimeout+"="+bound.String())
		took := time.Since(start)
		e.checkFailed(p, rc, restic.ExitUserAction, restic.ReasonUnreachable, "cannot reach the repository", "connection refused", "still retrying after "+bound.String())
		if took < bound || took > bound+failFast/3 {
			t.Errorf("%s: failed after %s, want %s and a little", a, took, bound)
		}
	}
}

// TestUnreadable: a file the unprivileged mover cannot read fails the backup as Unreadable,
// naming it, and the retention policy does not drop the older snapshot.
func TestUnreadable(t *testing.T) {
	movertest.RequireRoot(t, "a file of another owner")
	repo := localRepo(t, nobody)
	e := newEnv(t, "src", nobody, repo)
	must(os.WriteFile(filepath.Join(e.Data, "readable"), []byte("x"), 0o644))
	e.backup()
	must(os.WriteFile(filepath.Join(e.Data, "secret.db"), []byte("root only"), 0o600))
	p, rc := e.run([]string{restic.ActionBackup})
	e.checkFailed(p, rc, restic.ExitUserAction, restic.ReasonUnreadable, "secret.db", "could not read", "older snapshots are kept")
	if n := len(e.snapshots()); n != 2 {
		t.Fatalf("%d snapshots, want 2 (the retention policy must not run)", n)
	}
}

// holdLock runs restic as host name host (its own UTS namespace), holding a lock on repo
// until the test ends: a backup from stdin that never ends.
func holdLock(t *testing.T, e *env, host string) {
	t.Helper()
	movertest.RequireRoot(t, "a UTS namespace")
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	// The mover must read the lock: the holder runs as the mover's uid too.
	cmd := exec.Command("unshare", "--uts", "sh", "-c", `hostname "$1" && exec setpriv --reuid=$2 --regid=$2 --clear-groups restic backup --stdin --stdin-filename held --host other`,
		"sh", host, strconv.Itoa(e.UID))
	cmd.Env = append(os.Environ(), restic.EnvRepository+"="+e.repo, restic.EnvPassword+"="+password, "RESTIC_CACHE_DIR="+e.cache)
	stdin, err := cmd.StdinPipe()
	must(err)
	must(cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = stdin.Close()
	})
	waitLocks(t, e.repo, 1)
}

// waitLocks polls a local repository until it holds n lock files.
func waitLocks(t *testing.T, repo string, n int) {
	t.Helper()
	deadline := time.Now().Add(exitTimeout)
	for {
		entries, _ := os.ReadDir(filepath.Join(repo, "locks"))
		if len(entries) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d locks after %s, want %d", len(entries), exitTimeout, n)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// TestLockedByOtherHost: another host's lock fails the command as Locked, naming the holder;
// the unlock action removes it.
func TestLockedByOtherHost(t *testing.T) {
	repo := localRepo(t, nobody)
	e := newEnv(t, "src", nobody, repo)
	must(os.WriteFile(filepath.Join(e.Data, "f"), []byte("x"), 0o644))
	e.backup()
	holdLock(t, e, "volsync-other-host")
	p, rc := e.run([]string{restic.ActionPrune})
	e.checkFailed(p, rc, restic.ExitUserAction, restic.ReasonLocked, `host "volsync-other-host"`, "PID ", "since ", "set spec.restic.unlock")
	_, r := e.ok([]string{restic.ActionUnlock, restic.ActionBackup, restic.ActionPrune})
	if r.Details[restic.DetailUnlocked] != "true" || r.Details[restic.DetailPruned] != "true" {
		t.Fatalf("details %+v", r.Details)
	}
}

// TestStaleOwnLock: a mover killed mid-backup (SIGKILL, restic too) leaves its lock; the next
// run of the same host removes it and succeeds.
func TestStaleOwnLock(t *testing.T) {
	repo := localRepo(t, nobody)
	e := newEnv(t, "src", nobody, repo)
	must(os.WriteFile(filepath.Join(e.Data, "small"), []byte("x"), 0o644))
	e.backup()
	for i := 0; i < 32; i++ {
		f, err := os.Create(filepath.Join(e.Data, "big"+strconv.Itoa(i)))
		must(err)
		_, err = io.CopyN(f, randReader{}, 4<<20)
		must(err)
		must(f.Close())
	}
	p := e.start([]string{restic.ActionBackup})
	waitLocks(t, repo, 1)
	for _, pid := range children(p.Cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = p.Cmd.Process.Kill()
	p.Wait(t, exitTimeout)
	entries, _ := os.ReadDir(filepath.Join(repo, "locks"))
	if len(entries) != 1 {
		t.Fatalf("%d locks after the kill, want the stale one", len(entries))
	}
	p2, r := e.ok([]string{restic.ActionBackup, restic.ActionPrune})
	if r.Details[restic.DetailPruned] != "true" {
		t.Fatalf("details %+v", r.Details)
	}
	t.Logf("%s", p2.Out())
}

// children are the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(e.Name())
			out = append(out, n)
		}
	}
	return out
}

// randReader is incompressible data, fast.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) {
	x := uint64(time.Now().UnixNano())
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
	}
	return len(p), nil
}

// TestCacheFull: a cache volume filled by something else is emptied and the backup retried;
// one too small for the repository's metadata fails as CacheFull.
func TestCacheFull(t *testing.T) {
	movertest.RequireRoot(t, "a tmpfs")
	repo := localRepo(t, nobody)
	e := newEnv(t, "src", nobody, repo)
	for i := 0; i < 200; i++ {
		d := filepath.Join(e.Data, "d"+strconv.Itoa(i))
		must(os.Mkdir(d, 0o755))
		must(os.WriteFile(filepath.Join(d, "f"), []byte(strconv.Itoa(i)), 0o644))
	}
	mount := func(size string) {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0777", "tmpfs", e.cache).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", e.cache).Run() })
	}
	// A cache of 1 MiB that junk fills after restic made its directories.
	mount("1m")
	e.backup()
	junk, err := os.Create(filepath.Join(e.cache, "junk"))
	must(err)
	_, _ = io.Copy(junk, io.LimitReader(randReader{}, 2<<20)) // ENOSPC ends it
	_ = junk.Close()
	must(os.Chmod(junk.Name(), 0o666))
	p, r := e.ok([]string{restic.ActionBackup}, restic.EnvForgetOptions+"=")
	if !strings.Contains(p.Out(), "The cache is full") || r.Details[restic.DetailSnapshotID] == "" {
		t.Fatalf("no retry after emptying the cache: %+v\n%s", r, p.Out())
	}
	must(exec.Command("umount", e.cache).Run())
	mount("8k")
	p2, rc := e.run([]string{restic.ActionBackup})
	e.checkFailed(p2, rc, restic.ExitUserAction, restic.ReasonCacheFull, "cache volume is full", "raise spec.restic.cacheCapacity")
}

// TestUnwritable: an unprivileged restore that may not delete (--delete) or overwrite files of
// another owner, in a directory it may not write, fails as Unwritable at once, naming them.
func TestUnwritable(t *testing.T) {
	movertest.RequireRoot(t, "files of another owner")
	repo := localRepo(t, nobody)
	src, dst := newEnv(t, "src", nobody, repo), newEnv(t, "dst", nobody, repo)
	for name, data := range map[string]string{"keep": "k", "shared/file": "from the snapshot"} {
		must(os.MkdirAll(filepath.Join(src.Data, filepath.Dir(name)), 0o755))
		must(os.WriteFile(filepath.Join(src.Data, name), []byte(data), 0o644))
	}
	treetest.Chown(t, src.Data, nobody)
	src.backup()
	// Root's directory of root's file, not in the snapshot: --delete cannot remove it.
	must(os.Mkdir(filepath.Join(dst.Data, "rootdir"), 0o755))
	must(os.WriteFile(filepath.Join(dst.Data, "rootdir/file"), []byte("root's"), 0o644))
	p, rc := dst.run([]string{restic.ActionRestore}, restic.EnvRestoreOptions+"="+restic.RestoreDelete)
	dst.checkFailed(p, rc, restic.ExitUserAction, restic.ReasonUnwritable, "restoring snapshot ", "rootdir/file", "permission denied",
		"uid 65534", "spec.restic.moverSecurityContext", `volsync.backube/privileged-movers: "true"`)
	// Root's directory of root's file that the snapshot has: the restore cannot overwrite it.
	must(os.RemoveAll(filepath.Join(dst.Data, "rootdir")))
	must(os.RemoveAll(filepath.Join(dst.Data, "shared")))
	must(os.Mkdir(filepath.Join(dst.Data, "shared"), 0o755))
	must(os.WriteFile(filepath.Join(dst.Data, "shared/file"), []byte("root's"), 0o644))
	p, rc = dst.run([]string{restic.ActionRestore})
	dst.checkFailed(p, rc, restic.ExitUserAction, restic.ReasonUnwritable, "shared/file", "permission denied", "moverSecurityContext")
}
