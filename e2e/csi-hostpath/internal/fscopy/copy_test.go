package fscopy_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/fscopy"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/treesum"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (owner changes)")
	}
}

func TestCopyTreeKeepsEverything(t *testing.T) {
	requireRoot(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	dst := filepath.Join(tmp, "dst")
	if err := os.Mkdir(src, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := treesum.BuildSample(src); err != nil {
		t.Fatal(err)
	}
	if err := fscopy.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	want, wantList, err := treesum.Sum(src, treesum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, gotList, err := treesum.Sum(dst, treesum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("copy differs from source\nsource:\n%s\ncopy:\n%s", wantList, gotList)
	}
	// The hard links are links within the copy, not to the source.
	a, _ := os.Stat(filepath.Join(dst, "group/hl1"))
	b, _ := os.Stat(filepath.Join(dst, "nested/hl3"))
	s, _ := os.Stat(filepath.Join(src, "group/hl1"))
	if !os.SameFile(a, b) {
		t.Fatal("hard links not kept in the copy")
	}
	if os.SameFile(a, s) {
		t.Fatal("copy shares an inode with the source")
	}
	if n := a.Sys().(*syscall.Stat_t).Nlink; n != 3 {
		t.Fatalf("copied hard link count = %d, want 3", n)
	}
}

func TestCopyTreeDetectsDifferences(t *testing.T) {
	// The digest must notice each kind of loss the copy could suffer, or the test above proves nothing.
	requireRoot(t)
	mutations := map[string]func(dir string) error{
		"content": func(d string) error { return os.WriteFile(filepath.Join(d, "a.txt"), []byte("ALPHA\n"), 0o644) },
		"mode":    func(d string) error { return os.Chmod(filepath.Join(d, "nested/deeper/c.txt"), 0o600) },
		"owner":   func(d string) error { return os.Lchown(filepath.Join(d, "nested/b.txt"), 0, 0) },
		"symlink": func(d string) error {
			p := filepath.Join(d, "rel-link")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink("a.txt", p)
		},
		"hardlink": func(d string) error {
			p := filepath.Join(d, "group/hl2")
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.WriteFile(p, data, 0o644)
		},
		"empty dir": func(d string) error { return os.Remove(filepath.Join(d, "empty")) },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "src")
			dst := filepath.Join(tmp, "dst")
			if err := os.Mkdir(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := treesum.BuildSample(src); err != nil {
				t.Fatal(err)
			}
			if err := fscopy.CopyTree(src, dst); err != nil {
				t.Fatal(err)
			}
			if err := mutate(dst); err != nil {
				t.Fatal(err)
			}
			opts := treesum.Options{SkipDirTimes: true}
			want, _, _ := treesum.Sum(src, opts)
			got, _, _ := treesum.Sum(dst, opts)
			if got == want {
				t.Fatalf("digest did not change after %s mutation", name)
			}
		})
	}
}

func TestCopyTreeRefusesExistingDestination(t *testing.T) {
	tmp := t.TempDir()
	if err := fscopy.CopyTree(tmp, tmp); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CopyTree onto an existing path: err = %v, want ErrExist", err)
	}
	f := filepath.Join(tmp, "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fscopy.CopyTree(f, filepath.Join(tmp, "x")); err == nil {
		t.Fatal("CopyTree of a regular file succeeded")
	}
}

func TestSizeCountsHardLinksOnce(t *testing.T) {
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "a"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(tmp, "a"), filepath.Join(tmp, "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "c"), make([]byte, 24), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := fscopy.Size(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1024 {
		t.Fatalf("Size = %d, want 1024", n)
	}
}
