package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/s3test"
	"github.com/volsync-go/volsync/images/internal/treetest"
	"github.com/volsync-go/volsync/images/rclone/manifest"
)

// newServer starts an S3 server with the tests' bucket.
func newServer(t *testing.T, o s3test.Options) *s3test.Server {
	t.Helper()
	s := s3test.Start(t, o)
	s.CreateBucket(t, bucket)
	return s
}

// fidelity is what an rclone copy keeps of a treetest tree: everything but hard links (separate
// files), special files (skipped) and holes (sparse files arrive dense).
func fidelity(o treetest.Opts) treetest.Opts {
	o.SeparateHardLinks, o.NoSpecialFiles, o.Dense = true, true, true
	return o
}

// defaultACL is a default ACL (user::rwx group::r-x other::---) for a directory.
var defaultACL = []byte{2, 0, 0, 0, 1, 0, 7, 0, 255, 255, 255, 255, 4, 0, 5, 0, 255, 255, 255, 255, 32, 0, 0, 0, 255, 255, 255, 255}

func TestSyncPrivileged(t *testing.T) {
	requireTools(t)
	movertest.RequireRoot(t, "a privileged mover runs as root")
	s3 := newServer(t, s3test.Options{})
	src, dst := newEnv(t, "src", 0, s3.Section(section)), newEnv(t, "dst", 0, s3.Section(section))
	treetest.Build(t, src.Data, true)
	must(syscall.Setxattr(filepath.Join(src.Data, "dir/setgid"), manifest.ACLDefault, defaultACL, 0))
	must(os.MkdirAll(filepath.Join(src.Data, "lost+found/x"), 0o700)) // never sent
	// A file with the manifest's name at the top of the volume is not replicated.
	must(os.WriteFile(filepath.Join(src.Data, rclone.Manifest), []byte("not a manifest"), 0o644))
	treetest.SetTimes(t, src.Data)
	treetest.SeedStale(t, dst.Data, 0)
	const path = bucket + "/pvc"

	first, firstDst := syncOnce(t, src, dst, path)
	if _, err := os.Stat(s3.ObjectPath(bucket, "pvc/lost+found")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lost+found was uploaded: %v", err)
	}
	if b, err := os.ReadFile(s3.ObjectPath(bucket, "pvc/"+rclone.Manifest)); err != nil || bytes.Contains(b, []byte("not a manifest")) {
		t.Errorf("the manifest object: %v", err)
	}
	if got, err := getXattr(filepath.Join(dst.Data, "dir/setgid"), manifest.ACLDefault); err != nil || !bytes.Equal(got, defaultACL) {
		t.Errorf("default ACL on the destination: %v %v", got, err)
	}
	treetest.CheckLostFound(t, dst.Data)
	must(os.RemoveAll(filepath.Join(src.Data, "lost+found")))
	must(os.Remove(filepath.Join(src.Data, rclone.Manifest)))
	treetest.Compare(t, src.Data, dst.Data, fidelity(treetest.Opts{Owners: true}))
	if first.FilesTransferred < 10 || first.BytesSent < 1<<20 || firstDst.FilesTransferred != first.FilesTransferred {
		t.Errorf("first sync: source %+v destination %+v", first, firstDst)
	}
	if detail(first, rclone.DetailEntries) < 15 || detail(firstDst, rclone.DetailEntries) != detail(first, rclone.DetailEntries) {
		t.Errorf("entries: source %+v destination %+v", first, firstDst)
	}
	if detail(firstDst, rclone.DetailDeletes) < 4 { // stale.txt, staledir/..., dir (a file), pipe
		t.Errorf("destination deletes: %+v", firstDst)
	}

	treetest.Change(t, src.Data)
	second, secondDst := syncOnce(t, src, dst, path)
	treetest.Compare(t, src.Data, dst.Data, fidelity(treetest.Opts{Owners: true}))
	if second.FilesTransferred != treetest.ChangedFiles || secondDst.FilesTransferred != treetest.ChangedFiles {
		t.Errorf("second sync transferred %d and %d files, want %d", second.FilesTransferred, secondDst.FilesTransferred, treetest.ChangedFiles)
	}
	if detail(second, rclone.DetailDeletes) < 2 || detail(secondDst, rclone.DetailDeletes) < 2 { // exec.sh, hl-c
		t.Errorf("second sync deletes: source %+v destination %+v", second, secondDst)
	}

	third, thirdDst := syncOnce(t, src, dst, path)
	treetest.Compare(t, src.Data, dst.Data, fidelity(treetest.Opts{Owners: true}))
	if third.FilesTransferred != 0 || third.BytesSent != 0 || thirdDst.FilesTransferred != 0 {
		t.Errorf("a sync without changes moved data: source %+v destination %+v", third, thirdDst)
	}
}

func TestSyncUnprivileged(t *testing.T) {
	requireTools(t)
	movertest.RequireRoot(t, "the test runs the movers as nobody")
	s3 := newServer(t, s3test.Options{})
	src, dst := newEnv(t, "src", nobody, s3.Section(section)), newEnv(t, "dst", nobody, s3.Section(section))
	treetest.PrepareUnprivileged(t, src.Data, dst.Data, nobody)
	opts := fidelity(treetest.Opts{OwnerUID: nobody, SkipRoot: true})

	syncOnce(t, src, dst, bucket+"/pvc")
	treetest.CheckLostFound(t, dst.Data)
	treetest.Compare(t, src.Data, dst.Data, opts)

	treetest.Change(t, src.Data)
	treetest.Chown(t, src.Data, nobody)
	// A read-only directory and a read-only file with an attribute: the destination mover must
	// still write into it on the next sync.
	must(os.WriteFile(filepath.Join(src.Data, "newdir/ro.txt"), []byte("ro"), 0o444))
	must(os.Lchown(filepath.Join(src.Data, "newdir/ro.txt"), nobody, nobody))
	must(syscall.Setxattr(filepath.Join(src.Data, "newdir/ro.txt"), "user.k", []byte("v"), 0))
	must(os.Chmod(filepath.Join(src.Data, "newdir"), 0o555))
	second, _ := syncOnce(t, src, dst, bucket+"/pvc")
	treetest.Compare(t, src.Data, dst.Data, opts)
	if second.FilesTransferred != treetest.ChangedFiles+1 {
		t.Errorf("second sync transferred %d files, want %d", second.FilesTransferred, treetest.ChangedFiles+1)
	}

	must(os.Chmod(filepath.Join(src.Data, "newdir"), 0o755))
	must(os.WriteFile(filepath.Join(src.Data, "newdir/ro.txt"), []byte("changed"), 0o444))
	must(os.Chmod(filepath.Join(src.Data, "newdir"), 0o555))
	syncOnce(t, src, dst, bucket+"/pvc")
	treetest.Compare(t, src.Data, dst.Data, opts)
}

// TestWaitingForSource: a destination whose remote path no source has completed (never
// written, or data without a manifest) exits 0 with a Waiting result and leaves its volume alone.
func TestWaitingForSource(t *testing.T) {
	requireTools(t)
	s3 := newServer(t, s3test.Options{})
	src, dst := newEnv(t, "src", 0, s3.Section(section)), newEnv(t, "dst", 0, s3.Section(section))
	must(os.WriteFile(filepath.Join(dst.Data, "keep"), []byte("mine"), 0o644))
	checkWaiting := func(path string) {
		t.Helper()
		p, rc := dst.run(rclone.DirectionDestination, path)
		r := dst.Result()
		if rc != 0 || p.ErrOut() != "" || r.Outcome != result.OutcomeWaiting || r.Error != "no data from a source yet at "+section+":"+path {
			t.Fatalf("exit %d stderr %q result %+v", rc, p.ErrOut(), r)
		}
		if b, err := os.ReadFile(filepath.Join(dst.Data, "keep")); err != nil || string(b) != "mine" {
			t.Fatalf("the volume was changed: %q %v", b, err)
		}
	}
	checkWaiting(bucket + "/never-written")

	// A source that uploaded its files but not its manifest (it failed, or is still running).
	must(os.WriteFile(filepath.Join(src.Data, "f"), []byte("data"), 0o644))
	s, rc := src.run(rclone.DirectionSource, bucket+"/half")
	checkSucceeded(t, src, s, rc)
	must(os.Remove(s3.ObjectPath(bucket, "half/"+rclone.Manifest)))
	checkWaiting(bucket + "/half")
}

// TestSourceChangedDuringSync: files of another size than the manifest says (the source was
// uploading while the destination downloaded) fail the destination with a reason saying so.
func TestSourceChangedDuringSync(t *testing.T) {
	requireTools(t)
	s3 := newServer(t, s3test.Options{})
	src, dst := newEnv(t, "src", 0, s3.Section(section)), newEnv(t, "dst", 0, s3.Section(section))
	must(os.WriteFile(filepath.Join(src.Data, "grows.txt"), []byte("short"), 0o644))
	must(os.WriteFile(filepath.Join(src.Data, "other.txt"), []byte("same"), 0o644))
	s, rc := src.run(rclone.DirectionSource, bucket+"/pvc")
	checkSucceeded(t, src, s, rc)
	// The source's next sync has uploaded its files but not yet its manifest.
	must(os.WriteFile(filepath.Join(src.Data, "grows.txt"), []byte("much longer now"), 0o644))
	cmd := exec.Command(filepath.Join(toolsBin, "rclone"), "--config", src.conf, "sync", src.Data, section+":"+bucket+"/pvc",
		"--exclude", "/"+rclone.Manifest)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rclone sync: %v\n%s", err, out)
	}
	d, rc := dst.run(rclone.DirectionDestination, bucket+"/pvc")
	movertest.CheckFailed(t, dst.Env, d, rc, ExitFailed, "changed during this sync", `"grows.txt"`, "next sync")
}

// getXattr reads one extended attribute.
func getXattr(p, name string) ([]byte, error) {
	buf := make([]byte, 64<<10)
	n, err := syscall.Getxattr(p, name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// hasSecret reports whether s appears in any of the texts.
func hasSecret(s string, texts ...string) bool {
	for _, t := range texts {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// TestUnprivilegedSourceUnreadable: entries the source mover may not read fail the run, naming
// them and the remedy, before anything is uploaded.
func TestUnprivilegedSourceUnreadable(t *testing.T) {
	requireTools(t)
	movertest.RequireRoot(t, "the test runs the mover as nobody")
	s3 := newServer(t, s3test.Options{})
	src := newEnv(t, "src", nobody, s3.Section(section))
	must(os.WriteFile(filepath.Join(src.Data, "readable"), []byte("ok"), 0o644))
	must(os.WriteFile(filepath.Join(src.Data, "secret.key"), []byte("no"), 0o600))
	must(os.Mkdir(filepath.Join(src.Data, "private"), 0o700))
	p, rc := src.run(rclone.DirectionSource, bucket+"/pvc")
	movertest.CheckFailed(t, src.Env, p, rc, ExitFailed, "the mover (uid 65534) cannot read 2 entries of the volume (permission denied)",
		`"private"`, `"secret.key"`, "privileged-movers")
	if _, err := os.Stat(s3.ObjectPath(bucket, "pvc/readable")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data was uploaded: %v", err)
	}
}
