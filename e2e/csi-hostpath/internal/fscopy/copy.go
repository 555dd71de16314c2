package fscopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// CopyTree copies the directory src to dst, which must not exist yet. Like `cp -a`, it keeps
// file types (directories, regular files, symlinks, FIFOs, device nodes), permission bits
// including setuid/setgid/sticky, owners, access and modification times, and hard links
// between files inside the tree. Extended attributes are copied where both sides support them.
func CopyTree(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("copy %s: not a directory", src)
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("copy to %s: %w", dst, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	c := &copier{links: map[fileID]string{}}
	return c.copy(src, dst, fi)
}

// Size returns the sum of the sizes of the regular files under root (each hard-linked inode once).
func Size(root string) (int64, error) {
	var total int64
	seen := map[fileID]bool{}
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		id := fileID{dev: st.Dev, ino: st.Ino}
		if seen[id] {
			return nil
		}
		seen[id] = true
		total += fi.Size()
		return nil
	})
	return total, err
}

type fileID struct{ dev, ino uint64 }

type copier struct {
	// links maps the source inode of a multiply-linked file to its first copy.
	links map[fileID]string
}

func (c *copier) copy(src, dst string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("copy %s: no stat information", src)
	}
	switch {
	case fi.IsDir():
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			s := filepath.Join(src, e.Name())
			cfi, err := os.Lstat(s)
			if err != nil {
				return err
			}
			if err := c.copy(s, filepath.Join(dst, e.Name()), cfi); err != nil {
				return err
			}
		}
	case fi.Mode().IsRegular():
		id := fileID{dev: st.Dev, ino: st.Ino}
		if st.Nlink > 1 {
			if first, ok := c.links[id]; ok {
				return os.Link(first, dst)
			}
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
		if st.Nlink > 1 {
			c.links[id] = dst
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("lchown %s: %w", dst, err)
		}
		copyXattrs(src, dst)
		ts := []unix.Timespec{unix.Timespec(st.Atim), unix.Timespec(st.Mtim)}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set times of %s: %w", dst, err)
		}
		return nil
	default:
		// FIFOs, sockets and device nodes: recreate the node itself.
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("mknod %s: %w", dst, err)
		}
	}
	return setAttrs(src, dst, st)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// setAttrs applies owner, mode (after chown, which clears setuid bits), xattrs and times.
func setAttrs(src, dst string, st *syscall.Stat_t) error {
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	copyXattrs(src, dst)
	ts := []unix.Timespec{unix.Timespec(st.Atim), unix.Timespec(st.Mtim)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", dst, err)
	}
	return nil
}

// copyXattrs copies extended attributes on a best-effort basis (like `cp -a`, which only warns).
func copyXattrs(src, dst string) {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size <= 0 {
		return
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(src, buf)
	if err != nil {
		return
	}
	start := 0
	for i := 0; i < size; i++ {
		if buf[i] != 0 {
			continue
		}
		name := string(buf[start:i])
		start = i + 1
		if name == "" {
			continue
		}
		vsize, err := unix.Lgetxattr(src, name, nil)
		if err != nil || vsize < 0 {
			continue
		}
		val := make([]byte, vsize)
		vsize, err = unix.Lgetxattr(src, name, val)
		if err != nil {
			continue
		}
		_ = unix.Lsetxattr(dst, name, val[:vsize], 0)
	}
}
