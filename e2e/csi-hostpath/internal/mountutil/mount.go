package mountutil

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MountInfo is one line of /proc/self/mountinfo, reduced to what this driver uses.
type MountInfo struct {
	MountPoint string
	Root       string   // the path inside the source filesystem that is mounted (bind mounts)
	Options    []string // per-mount options, e.g. "ro", "rw", "relatime"
}

// ReadOnly reports whether the mount is read-only.
func (m MountInfo) ReadOnly() bool {
	for _, o := range m.Options {
		if o == "ro" {
			return true
		}
	}
	return false
}

// Mounts parses /proc/self/mountinfo.
func Mounts() ([]MountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []MountInfo
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		out = append(out, MountInfo{
			Root:       unescape(fields[3]),
			MountPoint: unescape(fields[4]),
			Options:    strings.Split(fields[5], ","),
		})
	}
	return out, sc.Err()
}

// unescape undoes the octal escapes (\040 for space etc.) that the kernel writes in mountinfo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Lookup returns the topmost mount whose mount point is path (after resolving symlinks in path).
func Lookup(path string) (MountInfo, bool, error) {
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return MountInfo{}, false, err
	}
	mounts, err := Mounts()
	if err != nil {
		return MountInfo{}, false, err
	}
	var found MountInfo
	ok := false
	for _, m := range mounts {
		if m.MountPoint == p {
			found, ok = m, true // later lines are mounted on top of earlier ones
		}
	}
	return found, ok, nil
}

// IsMountPoint reports whether path is a mount point. A missing path is not one.
func IsMountPoint(path string) (bool, error) {
	_, ok, err := Lookup(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	return ok, err
}

// BindMount bind-mounts the directory src onto target, read-only if readOnly.
func BindMount(src, target string, readOnly bool) error {
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s on %s: %w", src, target, err)
	}
	if readOnly {
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
		if err := unix.Mount("", target, "", flags, ""); err != nil {
			_ = unix.Unmount(target, 0)
			return fmt.Errorf("remount %s read-only: %w", target, err)
		}
	}
	return nil
}

// Unmount unmounts target until it is no longer a mount point (it may be mounted more than once).
func Unmount(target string) error {
	for i := 0; i < 10; i++ {
		mounted, err := IsMountPoint(target)
		if err != nil {
			return err
		}
		if !mounted {
			return nil
		}
		if err := unix.Unmount(target, 0); err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 10 unmounts", target)
}
