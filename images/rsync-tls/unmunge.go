package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/volsync-go/volsync/images/internal/rsync"
)

// unmungeSymlinks restores the symlink values the rsync daemon stored with mungePrefix, keeping
// each link's times and (when privileged) owner, and the times of the directory holding it.
// rsync strips the prefix when it compares links, so unchanged links are not resent next time.
//
// A directory this user cannot read (a source directory with mode 0300, on a non-root
// destination) is skipped with a warning: rsync wrote into it, but its links stay munged.
func unmungeSymlinks(root string, privileged bool, logger *rsync.Logger) error {
	byDir := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			logger.Printf("Cannot look for symlinks to restore in %s: %v", path, err)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if target, err := os.Readlink(path); err == nil && strings.HasPrefix(target, mungePrefix) {
				byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], path)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("looking for symlinks to restore in %s: %w", root, err)
	}
	for dir, links := range byDir {
		dirInfo, err := os.Lstat(dir)
		if err != nil {
			return fmt.Errorf("restoring symlinks: %w", err)
		}
		for _, link := range links {
			if err := unmunge(link, privileged); err != nil {
				return err
			}
		}
		// The renames changed the directory's times; put rsync's back. The volume's top
		// directory may not be ours to change (see rootAttrError).
		at, mt := fileTimes(dirInfo)
		if err := os.Chtimes(dir, at, mt); err != nil && dir != filepath.Clean(root) {
			return fmt.Errorf("restoring times of %s: %w", dir, err)
		}
	}
	return nil
}

func unmunge(link string, privileged bool) error {
	target, err := os.Readlink(link)
	if err != nil {
		return fmt.Errorf("restoring symlink: %w", err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		return fmt.Errorf("restoring symlink: %w", err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	tmp := filepath.Join(filepath.Dir(link), ".rsync-tls-"+hex.EncodeToString(suffix))
	if err := os.Symlink(strings.TrimPrefix(target, mungePrefix), tmp); err != nil {
		return fmt.Errorf("restoring symlink %s: %w", link, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && privileged {
		if err := os.Lchown(tmp, int(st.Uid), int(st.Gid)); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("restoring owner of symlink %s: %w", link, err)
		}
	}
	at, mt := fileTimes(fi)
	if err := lutimes(tmp, at, mt); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("restoring times of symlink %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("restoring symlink %s: %w", link, err)
	}
	return nil
}

func fileTimes(fi fs.FileInfo) (atime, mtime time.Time) {
	mtime = fi.ModTime()
	atime = mtime
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		atime = time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	return atime, mtime
}

const (
	atFDCWD           = -100
	atSymlinkNofollow = 0x100
)

// lutimes sets the times of a symlink itself (utimensat with AT_SYMLINK_NOFOLLOW).
func lutimes(path string, atime, mtime time.Time) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	ts := [2]syscall.Timespec{syscall.NsecToTimespec(atime.UnixNano()), syscall.NsecToTimespec(mtime.UnixNano())}
	fd := atFDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&ts[0])), atSymlinkNofollow, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
