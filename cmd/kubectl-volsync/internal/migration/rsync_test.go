package migration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/names"
)

func TestOnlyTopDirAttrs(t *testing.T) {
	const greeting = "volsync-rsync destination: receiving into the volume\n"
	const summary = "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]\n"
	tests := []struct {
		name   string
		code   int
		stderr string
		want   bool
	}{
		{"root times", 23, greeting + `rsync: [generator] failed to set times on "/data/.": Operation not permitted (1)` + "\n" + summary, true},
		{"root perms", 23, `rsync: [generator] failed to set permissions on ".": Operation not permitted (1)` + "\n" + summary, true},
		{"a file's perms", 23, `rsync: [generator] failed to set permissions on "/data/a.txt": Operation not permitted (1)` + "\n" + summary, false},
		{"a subdirectory", 23, `rsync: [generator] failed to set times on "/data/sub/.": Operation not permitted (1)` + "\n" + summary, true},
		{"unreadable source", 23, `rsync: [sender] send_files failed to open "/src/secret": Permission denied (13)` + "\n" +
			`rsync: [generator] failed to set times on "/data/.": Operation not permitted (1)` + "\n" + summary, false},
		{"no detail", 23, summary, false},
		{"other code", 12, `rsync: [generator] failed to set times on "/data/.": Operation not permitted (1)` + "\n", false},
	}
	for _, tc := range tests {
		if got := OnlyTopDirAttrs(tc.code, tc.stderr); got != tc.want {
			t.Errorf("%s: OnlyTopDirAttrs = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSSHCommand(t *testing.T) {
	dir := t.TempDir()
	data := map[string][]byte{"source": []byte("PRIVATE"), "destination.pub": []byte("ssh-ed25519 AAAA one\nssh-rsa BBBB two\n")}
	ssh, err := sshCommand(dir, endpoint{Address: "10.0.0.5", Port: 2222, Keys: "k"}, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-i " + filepath.Join(dir, "source"), "StrictHostKeyChecking=yes", "BatchMode=yes", "-p 2222"} {
		if !strings.Contains(ssh, want) {
			t.Errorf("ssh command %q lacks %q", ssh, want)
		}
	}
	kh, err := os.ReadFile(filepath.Join(dir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if string(kh) != "[10.0.0.5]:2222 ssh-ed25519 AAAA one\n[10.0.0.5]:2222 ssh-rsa BBBB two\n" {
		t.Errorf("known_hosts:\n%s", kh)
	}
	if fi, err := os.Stat(filepath.Join(dir, "source")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("identity mode %v %v", fi.Mode(), err)
	}
	if _, err := sshCommand(dir, endpoint{Address: "h", Port: 22, Keys: "k"}, map[string][]byte{"source": []byte("x")}); err == nil ||
		!strings.Contains(err.Error(), `no "destination.pub"`) {
		t.Errorf("missing destination.pub: %v", err)
	}
	if _, err := sshCommand(dir, endpoint{Address: "fd00::1", Port: 22}, data); err != nil {
		t.Fatal(err)
	}
	if kh, _ := os.ReadFile(filepath.Join(dir, "known_hosts")); !strings.HasPrefix(string(kh), "fd00::1 ssh-ed25519") {
		t.Errorf("known_hosts for port 22:\n%s", kh)
	}
	if bracket("fd00::1") != "[fd00::1]" || bracket("10.0.0.1") != "10.0.0.1" {
		t.Error("bracket")
	}
}

func TestRDName(t *testing.T) {
	if got := RDName(names.XName{Namespace: "destination", Name: "mydata"}); got != "destination-mydata-migration-dest" {
		t.Errorf("RDName = %q", got)
	}
}
