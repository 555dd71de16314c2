package treesum

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Options select which attributes enter the digest.
type Options struct {
	// SkipRootAttrs leaves out the mode, owner and times of the root directory itself.
	SkipRootAttrs bool
	// SkipDirTimes leaves out directory times (they change when entries are added).
	SkipDirTimes bool
}

// Sum returns a hex digest of the tree under root and a human-readable listing of what was hashed.
// Each entry contributes its relative path, type, permission bits, owner, modification time
// (nanoseconds), and either the SHA-256 of its contents (regular files), its link target
// (symlinks) or its device number (device nodes). Hard links are recorded as the first path of
// each multiply-linked inode, so a copy that breaks or adds hard links digests differently.
func Sum(root string, opts Options) (string, string, error) {
	var lines []string
	firstPath := map[[2]uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		var b strings.Builder
		fmt.Fprintf(&b, "%q %s", rel, typeName(fi.Mode()))
		if rel != "." || !opts.SkipRootAttrs {
			fmt.Fprintf(&b, " mode=%04o uid=%d gid=%d", st.Mode&0o7777, st.Uid, st.Gid)
			if !fi.IsDir() || !opts.SkipDirTimes {
				fmt.Fprintf(&b, " mtime=%d.%09d", st.Mtim.Sec, st.Mtim.Nsec)
			}
		}
		switch {
		case fi.Mode().IsRegular():
			id := [2]uint64{st.Dev, st.Ino}
			if st.Nlink > 1 {
				if first, ok := firstPath[id]; ok {
					fmt.Fprintf(&b, " hardlink-to=%q", first)
					break
				}
				firstPath[id] = rel
			}
			h, err := fileHash(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " size=%d sha256=%s", fi.Size(), h)
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " target=%q", t)
		case fi.Mode()&(fs.ModeDevice|fs.ModeCharDevice) != 0:
			fmt.Fprintf(&b, " rdev=%d", st.Rdev)
		}
		lines = append(lines, b.String())
		return nil
	})
	if err != nil {
		return "", "", err
	}
	sort.Strings(lines)
	listing := strings.Join(lines, "\n")
	sum := sha256.Sum256([]byte(listing))
	return hex.EncodeToString(sum[:]), listing, nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m.IsRegular():
		return "file"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "chardev"
	case m&fs.ModeDevice != 0:
		return "blockdev"
	}
	return "other"
}

func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
