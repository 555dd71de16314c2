package treetest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ChangedFiles is how many regular files Change gives new data: file.txt, newdir/new.txt and
// emptydir (now a file).
const ChangedFiles = 3

// SeedStale puts entries on the destination that a sync must remove or replace, and a
// lost+found that it must leave alone (see CheckLostFound).
func SeedStale(t *testing.T, root string, uid int) {
	t.Helper()
	Must(os.WriteFile(filepath.Join(root, "stale.txt"), []byte("old"), 0o644))
	Must(os.MkdirAll(filepath.Join(root, "staledir/x"), 0o755))
	Must(os.WriteFile(filepath.Join(root, "staledir/x/y.txt"), []byte("old"), 0o644))
	Must(os.WriteFile(filepath.Join(root, "dir"), []byte("a file where the source has a directory"), 0o644))
	Must(os.Mkdir(filepath.Join(root, "pipe"), 0o755))
	Must(os.MkdirAll(filepath.Join(root, "lost+found/kept"), 0o700))
	Chown(t, root, uid)
}

// PrepareUnprivileged builds the source tree of an unprivileged sync (every entry owned by
// uid, which the source mover runs as) and a destination with stale entries whose root, like a
// volume root prepared by kubelet, is writable for the mover but owned by root, so rsync cannot
// set its times or mode.
func PrepareUnprivileged(t *testing.T, src, dst string, uid int) {
	t.Helper()
	Build(t, src, false)
	Chown(t, src, uid)
	SetTimes(t, src)
	SeedStale(t, dst, uid)
	Must(os.Chown(dst, 0, 0))
	Must(os.Chmod(dst, 0o777))
	Must(os.Chtimes(dst, BaseTime, BaseTime))
}

// Change modifies, deletes and adds entries of a Build tree for a second sync.
func Change(t *testing.T, root string) {
	t.Helper()
	p := func(rel string) string { return filepath.Join(root, rel) }
	Must(os.WriteFile(p("file.txt"), []byte("HELLO"), 0o644)) // same size, new content
	Must(os.Remove(p("exec.sh")))
	Must(os.Remove(p("hl-c")))
	Must(os.MkdirAll(p("newdir"), 0o755))
	Must(os.WriteFile(p("newdir/new.txt"), []byte("new"), 0o644))
	Must(os.Remove(p("dir/rel-link")))
	Must(os.Symlink("../private", p("dir/rel-link")))
	Must(os.Chmod(p("private"), 0o640))
	Must(os.RemoveAll(p("emptydir")))
	Must(os.WriteFile(p("emptydir"), []byte("now a file"), 0o644))
	mt := time.Now().Add(-time.Hour)
	for _, rel := range []string{"file.txt", "newdir/new.txt", "emptydir"} {
		Must(os.Chtimes(p(rel), mt, mt))
	}
}

// CheckLostFound fails the test unless the destination's lost+found (from SeedStale) is
// untouched: the filesystem's, never sent, never deleted. It then removes it so that Compare
// sees the copy only.
func CheckLostFound(t *testing.T, dst string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dst, "lost+found/kept")); err != nil {
		t.Errorf("lost+found on the destination was touched: %v", err)
	}
	Must(os.RemoveAll(filepath.Join(dst, "lost+found")))
}
