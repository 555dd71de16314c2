package treesum

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// BuildSample fills the existing directory dir with a tree that exercises what a copy must keep:
// nested directories, an empty directory, a setgid directory, files with unusual modes and
// owners, a larger file, relative, absolute and dangling symlinks, a group of three hard links,
// a FIFO, and fixed modification times. The owner changes need root.
func BuildSample(dir string) error {
	files := map[string]string{
		"a.txt":               "alpha\n",
		"nested/b.txt":        "bravo\n",
		"nested/deeper/c.txt": "charlie\n",
		"nested/deeper/d.bin": string([]byte{0, 1, 2, 3, 255}),
		"group/hl1":           "hard linked content\n",
		"exec.sh":             "#!/bin/sh\necho hi\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(dir, "nested/big.dat"), big, 0o600); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o750); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "setgid"), 0o755); err != nil {
		return err
	}
	if err := unix.Chmod(filepath.Join(dir, "setgid"), 0o2775); err != nil {
		return err
	}
	if err := unix.Chmod(filepath.Join(dir, "exec.sh"), 0o4755); err != nil {
		return err
	}
	for _, l := range []string{"group/hl2", "nested/hl3"} {
		if err := os.Link(filepath.Join(dir, "group/hl1"), filepath.Join(dir, l)); err != nil {
			return err
		}
	}
	links := map[string]string{
		"rel-link":           "nested/b.txt",
		"nested/up-link":     "../a.txt",
		"abs-link":           "/etc/hostname",
		"dangling":           "does/not/exist",
		"nested/dir-link":    "deeper",
		"nested/deeper/loop": ".",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	if err := unix.Mkfifo(filepath.Join(dir, "nested/fifo"), 0o640); err != nil {
		return err
	}
	if err := os.Lchown(filepath.Join(dir, "nested/b.txt"), 1234, 5678); err != nil {
		return err
	}
	if err := os.Lchown(filepath.Join(dir, "rel-link"), 4321, 8765); err != nil {
		return err
	}
	if err := os.Lchown(filepath.Join(dir, "setgid"), 1000, 1000); err != nil {
		return err
	}
	// Fixed, distinct times, deepest first so directory times are not disturbed afterwards.
	base := time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)
	order := []string{
		"nested/deeper/c.txt", "nested/deeper/d.bin", "nested/deeper/loop", "nested/deeper",
		"nested/b.txt", "nested/big.dat", "nested/hl3", "nested/up-link", "nested/dir-link",
		"nested/fifo", "nested", "group", "empty", "setgid", "a.txt", "exec.sh", "rel-link",
		"abs-link", "dangling", ".",
	}
	for i, name := range order {
		t := base.Add(time.Duration(i) * 1111 * time.Millisecond)
		ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dir, name), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set times of %s: %w", name, err)
		}
	}
	return nil
}
