package treetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

const (
	sparseSize  = 64 << 20
	sparseChunk = 4096
	aclXattr    = "system.posix_acl_access"
)

// BaseTime is the first mtime given to the tree; entries get distinct times after it.
var BaseTime = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)

// Must panics on an error: for set-up steps that cannot fail on a working machine.
func Must(err error) {
	if err != nil {
		panic(err)
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Build makes a tree with every kind of entry the mover must carry: contents, modes, times,
// symlinks, hard links, an empty directory, a FIFO, a sparse file, a user xattr and an ACL.
// With owners it also gives entries various owners (root only).
func Build(t *testing.T, root string, owners bool) {
	t.Helper()
	file := func(rel string, mode os.FileMode, data []byte) {
		p := filepath.Join(root, rel)
		Must(os.MkdirAll(filepath.Dir(p), 0o755))
		Must(os.WriteFile(p, data, mode))
		Must(os.Chmod(p, mode))
	}
	dir := func(rel string, mode os.FileMode) {
		p := filepath.Join(root, rel)
		Must(os.MkdirAll(p, 0o755))
		Must(os.Chmod(p, mode))
	}
	link := func(rel, target string) { Must(os.Symlink(target, filepath.Join(root, rel))) }

	file("file.txt", 0o644, []byte("hello"))
	file("private", 0o600, randBytes(100<<10))
	file("exec.sh", 0o755, []byte("#!/bin/sh\necho hi\n"))
	file("dir/sub/deep.bin", 0o644, randBytes(1<<20))
	file("name with spaces", 0o644, []byte("spaces"))
	file("-dash", 0o644, []byte("dash"))
	file("ünïcødé", 0o644, []byte("unicode"))
	file("empty-file", 0o644, nil)
	dir("emptydir", 0o700)
	dir("dir/setgid", 0o2775)
	link("abs-link", "/etc/hostname")
	link("dir/rel-link", "../file.txt")
	link("dangling", "nowhere/at/all")
	link("dirlink", "dir")
	file("hl-a", 0o640, []byte("hard linked"))
	Must(os.Link(filepath.Join(root, "hl-a"), filepath.Join(root, "dir/hl-b")))
	Must(os.Link(filepath.Join(root, "hl-a"), filepath.Join(root, "hl-c")))
	Must(syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644))

	// A sparse file: 64 MiB with three 4 KiB islands of data.
	f, err := os.Create(filepath.Join(root, "sparse.img"))
	Must(err)
	for _, off := range []int64{0, sparseSize / 2, sparseSize - sparseChunk} {
		_, err := f.WriteAt(randBytes(sparseChunk), off)
		Must(err)
	}
	Must(f.Close())

	Must(syscall.Setxattr(filepath.Join(root, "file.txt"), "user.volsync", []byte("xattr value"), 0))
	Must(syscall.Setxattr(filepath.Join(root, "private"), aclXattr, posixACL(0o6, 1234, 0o6, 0o4, 0o6, 0), 0))

	if owners {
		Must(os.Lchown(filepath.Join(root, "file.txt"), 1001, 1002))
		Must(os.Lchown(filepath.Join(root, "dir"), 2001, 2002))
		Must(os.Lchown(filepath.Join(root, "abs-link"), 3001, 3002))
		Must(os.Lchown(filepath.Join(root, "hl-a"), 4001, 4002))
		Must(os.Lchown(filepath.Join(root, "emptydir"), 5001, 5002))
	}
	SetTimes(t, root)
}

// posixACL encodes a POSIX access ACL xattr: owner perms, one named user, group, mask, other.
func posixACL(owner uint16, user uint32, userPerm, group, mask, other uint16) []byte {
	var b bytes.Buffer
	w := func(v any) { Must(binary.Write(&b, binary.LittleEndian, v)) }
	const undefined = 0xffffffff
	w(uint32(2))
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{0x01, owner, undefined}, {0x02, userPerm, user}, {0x04, group, undefined}, {0x10, mask, undefined}, {0x20, other, undefined}} {
		w(e.tag)
		w(e.perm)
		w(e.id)
	}
	return b.Bytes()
}

// SetTimes gives every entry a distinct mtime, directories last (deepest first).
func SetTimes(t *testing.T, root string) {
	t.Helper()
	var paths []string
	Must(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	}))
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for i, p := range paths {
		mt := BaseTime.Add(time.Duration(i) * time.Hour)
		Must(lutimes(p, mt))
	}
}

// lutimes sets both times of p itself, not of a symlink's target.
func lutimes(p string, mt time.Time) error {
	ts := []syscall.Timespec{syscall.NsecToTimespec(mt.UnixNano()), syscall.NsecToTimespec(mt.UnixNano())}
	b, err := syscall.BytePtrFromString(p)
	if err != nil {
		return err
	}
	const atFDCWD, atSymlinkNofollow = -100, 0x100
	fd := atFDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(b)), uintptr(unsafe.Pointer(&ts[0])), atSymlinkNofollow, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// entry is what is compared of one path.
type entry struct {
	mode   fs.FileMode
	size   int64
	sum    [32]byte
	link   string
	mtime  int64
	uid    uint32
	gid    uint32
	ino    uint64
	nlink  uint64
	blocks int64
	xattrs string
}

func scan(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	Must(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{mode: fi.Mode(), mtime: fi.ModTime().UnixNano(), uid: st.Uid, gid: st.Gid, ino: st.Ino, nlink: st.Nlink, blocks: st.Blocks}
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.size, e.sum = int64(len(data)), sha256.Sum256(data)
		case fi.Mode()&fs.ModeSymlink != 0:
			e.link, _ = os.Readlink(p)
		}
		if fi.Mode().IsRegular() || fi.IsDir() {
			e.xattrs = xattrs(p)
		}
		out[rel] = e
		return nil
	}))
	return out
}

// xattrs lists the user.* attributes and the access ACL of p.
func xattrs(p string) string {
	buf := make([]byte, 64<<10)
	n, err := syscall.Listxattr(p, buf)
	if err != nil {
		return "error: " + err.Error()
	}
	var parts []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if !strings.HasPrefix(name, "user.") && name != aclXattr {
			continue
		}
		v := make([]byte, 64<<10)
		m, err := syscall.Getxattr(p, name, v)
		if err != nil && !errors.Is(err, syscall.ENODATA) {
			return "error: " + err.Error()
		}
		parts = append(parts, name+"="+string(v[:max(m, 0)]))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// Opts says what Compare checks beyond contents, modes, times, links and xattrs.
type Opts struct {
	// Owners: owners must match; otherwise every destination entry belongs to OwnerUID.
	Owners   bool
	OwnerUID uint32
	// SkipRoot ignores the times and permissions of the top directory (a non-root mover does
	// not own the destination volume's root).
	SkipRoot bool
	// SeparateHardLinks: hard links arrive as separate files with the same contents (a mover
	// through an object store); they must not be checked for a shared inode.
	SeparateHardLinks bool
	// NoSpecialFiles: sockets, FIFOs and device files are not replicated; the source's are
	// ignored (and must be absent on the destination).
	NoSpecialFiles bool
	// Dense: sparse files may arrive with their holes filled (same contents, more blocks).
	Dense bool
}

// Compare fails the test unless dst is a faithful copy of src.
func Compare(t *testing.T, src, dst string, o Opts) {
	t.Helper()
	a, b := scan(t, src), scan(t, dst)
	if o.NoSpecialFiles {
		for rel, e := range a {
			if !e.mode.IsRegular() && !e.mode.IsDir() && e.mode&fs.ModeSymlink == 0 {
				delete(a, rel)
			}
		}
	}
	for rel := range b {
		if _, ok := a[rel]; !ok {
			t.Errorf("%s: on the destination only", rel)
		}
	}
	srcGroups := map[uint64][]string{}
	for rel, s := range a {
		d, ok := b[rel]
		if !ok {
			t.Errorf("%s: missing on the destination", rel)
			continue
		}
		isRoot := rel == "."
		if !isRoot || !o.SkipRoot {
			if s.mode != d.mode {
				t.Errorf("%s: mode %v, want %v", rel, d.mode, s.mode)
			}
			// rsync (without --modify-window=-1) compares times in whole seconds, so a time
			// within the same second as the destination's is not rewritten. The tree's own
			// times (2021) must come through to the nanosecond.
			exact := time.Unix(0, s.mtime).Year() == BaseTime.Year()
			if exact && s.mtime != d.mtime || !exact && s.mtime/1e9 != d.mtime/1e9 {
				t.Errorf("%s: mtime %v, want %v", rel, time.Unix(0, d.mtime).UTC(), time.Unix(0, s.mtime).UTC())
			}
		}
		if s.size != d.size || s.sum != d.sum {
			t.Errorf("%s: content differs (size %d, want %d)", rel, d.size, s.size)
		}
		if s.link != d.link {
			t.Errorf("%s: symlink -> %q, want %q", rel, d.link, s.link)
		}
		if s.xattrs != d.xattrs && (!isRoot || !o.SkipRoot) {
			t.Errorf("%s: xattrs %q, want %q", rel, d.xattrs, s.xattrs)
		}
		switch {
		case o.Owners && (s.uid != d.uid || s.gid != d.gid):
			t.Errorf("%s: owner %d:%d, want %d:%d", rel, d.uid, d.gid, s.uid, s.gid)
		case !o.Owners && !isRoot && d.uid != o.OwnerUID:
			t.Errorf("%s: owner %d, want %d", rel, d.uid, o.OwnerUID)
		}
		if s.mode.IsRegular() && s.nlink > 1 && !o.SeparateHardLinks {
			srcGroups[s.ino] = append(srcGroups[s.ino], rel)
		}
		if s.mode.IsRegular() && d.blocks > s.blocks+16 && !o.Dense {
			t.Errorf("%s: %d blocks on the destination, %d on the source (not sparse)", rel, d.blocks, s.blocks)
		}
	}
	for _, group := range srcGroups {
		for _, rel := range group[1:] {
			if b[rel].ino != b[group[0]].ino {
				t.Errorf("hard links %s and %s are separate files on the destination", group[0], rel)
			}
		}
	}
}

// Chown gives the whole tree to uid (and the group of the same number).
func Chown(t *testing.T, root string, uid int) {
	t.Helper()
	Must(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	}))
}
