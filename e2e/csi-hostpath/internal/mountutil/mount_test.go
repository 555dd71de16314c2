package mountutil

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestUnescape(t *testing.T) {
	cases := map[string]string{
		`/plain`:               "/plain",
		`/with\040space`:       "/with space",
		`/tab\011and\134slash`: "/tab\tand\\slash",
		`/trailing\04`:         `/trailing\04`,
	}
	for in, want := range cases {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBindMountReadWriteAndReadOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "source dir")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		target := filepath.Join(tmp, "target with space")
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		if m, _ := IsMountPoint(target); m {
			t.Fatal("fresh directory reported as mount point")
		}
		if err := BindMount(src, target, ro); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = Unmount(target) }) // no leftover mount if the test stops early
		info, ok, err := Lookup(target)
		if err != nil || !ok {
			t.Fatalf("Lookup after mount: ok=%v err=%v", ok, err)
		}
		if info.ReadOnly() != ro {
			t.Fatalf("mount read-only = %v, want %v (options %v)", info.ReadOnly(), ro, info.Options)
		}
		if b, err := os.ReadFile(filepath.Join(target, "f")); err != nil || string(b) != "x" {
			t.Fatalf("content through bind mount: %q %v", b, err)
		}
		err = os.WriteFile(filepath.Join(target, "g"), []byte("y"), 0o644)
		if ro && !errors.Is(err, syscall.EROFS) {
			t.Fatalf("write to read-only mount: err = %v, want EROFS", err)
		}
		if !ro {
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(src, "g")); err != nil {
				t.Fatalf("write through bind mount not visible in source: %v", err)
			}
			_ = os.Remove(filepath.Join(src, "g"))
		}
		if err := Unmount(target); err != nil {
			t.Fatal(err)
		}
		if m, _ := IsMountPoint(target); m {
			t.Fatal("still mounted after Unmount")
		}
		if _, err := os.Stat(filepath.Join(target, "f")); !os.IsNotExist(err) {
			t.Fatalf("source content still visible after unmount: %v", err)
		}
		if err := os.Remove(target); err != nil {
			t.Fatal(err)
		}
	}
}
