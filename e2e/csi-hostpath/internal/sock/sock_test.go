package sock

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	ok := map[string]string{
		"unix:///var/lib/kubelet/plugins/x/csi.sock": "/var/lib/kubelet/plugins/x/csi.sock",
		"unix://run/csi.sock":                        "/run/csi.sock",
		"unix:/run/csi.sock":                         "/run/csi.sock",
		"/run/csi.sock":                              "/run/csi.sock",
	}
	for in, want := range ok {
		if got, err := ParseEndpoint(in); err != nil || got != want {
			t.Errorf("ParseEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"tcp://127.0.0.1:10000", "unix://", ""} {
		if got, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q) = %q, want an error", bad, got)
		}
	}
}

func TestListenReplacesStaleSocketOnly(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "csi.sock")
	l, err := Listen(p)
	if err != nil {
		t.Fatal(err)
	}
	// A second Listen on the same path replaces the (now stale) socket file.
	l2, err := Listen(p)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	_ = l.Close()
	_ = l2.Close()
	// A regular file is never removed.
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(f); err == nil {
		t.Fatal("Listen replaced a regular file")
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != "keep" {
		t.Fatalf("regular file changed: %q %v", b, err)
	}
}
