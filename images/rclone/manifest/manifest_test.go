package manifest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/volsync-go/volsync/images/internal/treetest"
)

var must = treetest.Must

// copyFiles does what rclone does between Prepare and Apply: it copies the regular files m
// lists from src to dst when their contents differ (a new file each, through a temporary
// name), creating directories with default modes, and keeps nothing else.
func copyFiles(t *testing.T, m *Manifest, src, dst string) {
	t.Helper()
	for _, e := range m.Entries {
		if e.Type != File {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Path))
		must(err)
		p := filepath.Join(dst, e.Path)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
			continue // rclone --checksum: same contents, not copied
		}
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p+".partial", data, 0o644))
		must(os.Rename(p+".partial", p))
	}
}

// replicate walks src, round-trips the manifest through its encoding and makes dst a copy.
func replicate(t *testing.T, src, dst string, o DestOptions) (*Manifest, ApplyStats) {
	t.Helper()
	m, _, err := Walk(src, WalkOptions{ExcludeTop: []string{"lost+found"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	must(Encode(&buf, m))
	back, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := Prepare(dst, back, o)
	if err != nil {
		t.Fatal(err)
	}
	copyFiles(t, back, src, dst)
	s, err := Apply(dst, back, o)
	if err != nil {
		t.Fatal(err)
	}
	s.Removed += removed
	return back, s
}

func destOpts() DestOptions {
	return DestOptions{KeepTop: []string{"lost+found"}, Privileged: os.Geteuid() == 0}
}

func compareOpts() treetest.Opts {
	root := os.Geteuid() == 0
	return treetest.Opts{Owners: root, OwnerUID: uint32(os.Geteuid()), SeparateHardLinks: true, NoSpecialFiles: true, Dense: true}
}

// TestWalkApplyRoundTrip: a tree with every kind of entry, stale entries on the destination,
// then changes and deletions, comes through the manifest faithfully (what it carries).
func TestWalkApplyRoundTrip(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	treetest.Build(t, src, os.Geteuid() == 0)
	// A default ACL on a directory (inherited by new files) travels too.
	defACL := []byte{2, 0, 0, 0, 1, 0, 7, 0, 255, 255, 255, 255, 4, 0, 5, 0, 255, 255, 255, 255, 32, 0, 0, 0, 255, 255, 255, 255}
	must(syscall.Setxattr(filepath.Join(src, "dir/setgid"), ACLDefault, defACL, 0))
	must(os.MkdirAll(filepath.Join(src, "lost+found/x"), 0o700))
	treetest.SetTimes(t, src)
	treetest.SeedStale(t, dst, os.Geteuid())

	m, s := replicate(t, src, dst, destOpts())
	if _, ok := m.Lookup("pipe"); ok {
		t.Error("a FIFO was recorded")
	}
	if _, ok := m.Lookup("lost+found"); ok {
		t.Error("lost+found was recorded")
	}
	if s.Created == 0 || s.Updated == 0 {
		t.Errorf("stats %+v", s)
	}
	got, err := getXattr(filepath.Join(dst, "dir/setgid"), ACLDefault)
	if err != nil || !bytes.Equal(got, defACL) {
		t.Errorf("default ACL %v %v", got, err)
	}
	treetest.CheckLostFound(t, dst)
	must(os.RemoveAll(filepath.Join(src, "lost+found")))
	treetest.Compare(t, src, dst, compareOpts())

	treetest.Change(t, src)
	must(os.Remove(filepath.Join(src, "dangling")))
	must(os.RemoveAll(filepath.Join(src, "dir/sub")))
	must(os.Symlink("file.txt", filepath.Join(src, "dir/sub"))) // a directory becomes a symlink
	_, s = replicate(t, src, dst, destOpts())
	treetest.Compare(t, src, dst, compareOpts())
	if s.Removed == 0 {
		t.Errorf("nothing removed: %+v", s)
	}

	// Nothing changed: nothing to update but the directories' times.
	_, s = replicate(t, src, dst, destOpts())
	treetest.Compare(t, src, dst, compareOpts())
	if s.Removed != 0 || s.Created != 0 || s.Updated != 0 {
		t.Errorf("a sync without changes changed %+v", s)
	}
}

// TestReadOnlyEntries: directories and files without write permission are replaced, removed
// and given attributes (the mover makes them writable while it works).
func TestReadOnlyEntries(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	must(os.MkdirAll(filepath.Join(src, "ro/sub"), 0o755))
	must(os.WriteFile(filepath.Join(src, "ro/sub/f"), []byte("one"), 0o444))
	must(syscall.Setxattr(filepath.Join(src, "ro/sub/f"), "user.k", []byte("v1"), 0))
	must(os.Chmod(filepath.Join(src, "ro/sub"), 0o555))
	must(os.Chmod(filepath.Join(src, "ro"), 0o500))
	replicate(t, src, dst, destOpts())
	treetest.Compare(t, src, dst, compareOpts())

	must(os.Chmod(filepath.Join(src, "ro"), 0o700))
	must(os.Chmod(filepath.Join(src, "ro/sub"), 0o755))
	must(syscall.Setxattr(filepath.Join(src, "ro/sub/f"), "user.k", []byte("v2"), 0))
	must(os.WriteFile(filepath.Join(src, "ro/sub/g"), nil, 0o400))
	must(os.Chmod(filepath.Join(src, "ro/sub"), 0o555))
	must(os.Chmod(filepath.Join(src, "ro"), 0o500))
	replicate(t, src, dst, destOpts())
	treetest.Compare(t, src, dst, compareOpts())

	// Removing a read-only tree.
	must(os.Chmod(filepath.Join(src, "ro"), 0o700))
	must(os.Chmod(filepath.Join(src, "ro/sub"), 0o700))
	must(os.RemoveAll(filepath.Join(src, "ro")))
	replicate(t, src, dst, destOpts())
	treetest.Compare(t, src, dst, compareOpts())
}

// TestIncomplete: a file missing or of another size than the manifest says fails Apply,
// naming it, before any attribute is changed.
func TestIncomplete(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	must(os.WriteFile(filepath.Join(src, "a"), []byte("abc"), 0o600))
	must(os.WriteFile(filepath.Join(src, "b"), []byte("abc"), 0o600))
	m, _, err := Walk(src, WalkOptions{})
	must(err)
	copyFiles(t, m, src, dst)
	must(os.WriteFile(filepath.Join(dst, "a"), []byte("abcd"), 0o644)) // the source's next version
	must(os.Remove(filepath.Join(dst, "b")))
	_, err = Apply(dst, m, destOpts())
	var inc *IncompleteError
	if !errors.As(err, &inc) || inc.Count != 2 || !strings.Contains(err.Error(), `"a", "b"`) {
		t.Fatalf("got %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "a")); fi.Mode().Perm() != 0o644 {
		t.Errorf("attributes changed on an incomplete copy: %v", fi.Mode())
	}
}

// TestEncodingIsStableAndLossless: the same tree encodes to the same bytes (an unchanged
// manifest is not uploaded again), and names that are not UTF-8 survive.
func TestEncodingIsStableAndLossless(t *testing.T) {
	src := t.TempDir()
	odd := "bad\xff\xfename"
	must(os.WriteFile(filepath.Join(src, odd), []byte("x"), 0o644))
	must(os.Symlink("target\xff", filepath.Join(src, "link")))
	must(syscall.Setxattr(filepath.Join(src, odd), "user.\xffodd", []byte{0, 1, 2}, 0))
	var one, two bytes.Buffer
	for _, b := range []*bytes.Buffer{&one, &two} {
		m, _, err := Walk(src, WalkOptions{})
		must(err)
		must(Encode(b, m))
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Fatal("two encodings of the same tree differ")
	}
	m, err := Decode(&one)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := m.Lookup(odd)
	if !ok || e.Type != File || !bytes.Equal(e.Xattrs["user.\xffodd"], []byte{0, 1, 2}) {
		t.Fatalf("entry %+v %v", e, ok)
	}
	if l, _ := m.Lookup("link"); l.Target != "target\xff" {
		t.Fatalf("target %q", l.Target)
	}
}

// TestDecodeRejects: a manifest that is cut short or would reach outside the volume is refused.
func TestDecodeRejects(t *testing.T) {
	root := Entry{Path: Root, Type: Dir, Mode: 0o755}
	cases := map[string][]Entry{
		"escape":         {root, {Path: "../etc", Type: Dir}},
		"absolute":       {root, {Path: "/etc", Type: Dir}},
		"unclean":        {root, {Path: "a/../b", Type: File}},
		"no parent":      {root, {Path: "a/b", Type: File}},
		"parent is file": {root, {Path: "a", Type: File}, {Path: "a/b", Type: File}},
		"duplicate":      {root, {Path: "a", Type: File}, {Path: "a", Type: File}},
		"no root":        {{Path: "a", Type: File}},
		"other xattr":    {root, {Path: "a", Type: File, Xattrs: map[string][]byte{"trusted.x": nil}}},
		"bad type":       {root, {Path: "a", Type: "p"}},
	}
	for name, entries := range cases {
		var buf bytes.Buffer
		must(Encode(&buf, &Manifest{Entries: entries}))
		if _, err := Decode(&buf); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var buf bytes.Buffer
	must(Encode(&buf, &Manifest{Entries: []Entry{root, {Path: "a", Type: File, Size: 1}}}))
	full := buf.Bytes()
	for _, n := range []int{0, 10, len(full) - 1} {
		if _, err := Decode(bytes.NewReader(full[:n])); err == nil {
			t.Errorf("manifest cut to %d of %d bytes accepted", n, len(full))
		}
	}
	if _, err := Decode(bytes.NewReader(full)); err != nil {
		t.Fatalf("the whole manifest: %v", err)
	}
}
