package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseRsyncServer(t *testing.T) {
	data := t.TempDir()
	must(os.Mkdir(filepath.Join(data, "sub"), 0o755))
	must(os.Symlink("/", filepath.Join(data, "root")))
	must(os.Symlink("sub", filepath.Join(data, "inside")))
	ok := []struct {
		command string
		opts    []string
		paths   []string
	}{
		{"rsync --server -lHogDtpAXrxSze.iLsfxCIvu --timeout=300 --delete --stats --numeric-ids . .",
			[]string{"-lHogDtpAXrxSze.iLsfxCIvu", "--timeout=300", "--delete", "--stats", "--numeric-ids"}, []string{"."}},
		{"rsync --server -logDtpre.iLsfxCIvu . my\\ dir/x", []string{"-logDtpre.iLsfxCIvu"}, []string{"my dir/x"}},
		{"rsync --server -r . /sub/", []string{"-r"}, []string{"sub/"}},
		{"rsync --server -r --partial-dir .partial --max-delete=5 -B4096 . inside/new", []string{"-r", "--partial-dir=.partial", "--max-delete=5", "-B4096"}, []string{"inside/new"}},
		{"rsync --server -r .", []string{"-r"}, []string{"."}},
	}
	for _, tc := range ok {
		s, err := parseRsyncServer(tc.command, data)
		if err != nil || !slices.Equal(s.Opts, tc.opts) || !slices.Equal(s.Paths, tc.paths) {
			t.Errorf("%q: %+v %v, want opts %q paths %q", tc.command, s, err, tc.opts, tc.paths)
		}
	}
	bad := map[string]string{
		"rsync --server --sender -r . x":             "--sender",
		"rsync --server -r --files-from=/etc/x . .":  "--files-from",
		"rsync --server -r --write-batch=x . .":      "--write-batch",
		"rsync --server -r --compare-dest=/../ . .":  "leaves the volume",
		"rsync --server -r --link-dest root/etc . .": "symbolic link",
		"rsync --server -r . root/etc":               "symbolic link",
		"rsync --server -r . a/../../b":              "leaves the volume",
		"rsync --server -rs . .":                     "-rs is not accepted",
		"rsync --server -r --rsync-path=x . .":       "--rsync-path is not accepted",
		"rsync --server -r -e ssh . .":               "option -e is not accepted",
		"rsync --server -r --timeout":                "lacks its value",
		"rsync --server -r --delete=x . .":           "takes no value",
		"rsync --server -r x . .":                    "unexpected argument",
		"rsync --server -r":                          "no \".\" argument",
		"rsync -r . .":                               "not an rsync server",
	}
	for command, want := range bad {
		_, err := parseRsyncServer(command, data)
		if err == nil || !errors.Is(err, errRefused) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a refusal naming %q", command, err, want)
		}
	}
}

func TestReadServerLog(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	must(os.WriteFile(p, []byte(`2026/12/01 05:42:14 [9248] receiving file list
2026/12/01 05:42:14 [9248] >f.st......
2026/12/01 05:42:14 [9248] >f+++++++++
2026/12/01 05:42:14 [9248] .f...p.....
2026/12/01 05:42:14 [9248] cd+++++++++
2026/12/01 05:42:14 [9248] sent 46 bytes  received 1,158 bytes  total size 8
`), 0o600))
	if b, f := readServerLog(p); b != 1158 || f != 2 {
		t.Fatalf("bytes %d files %d", b, f)
	}
}

func TestLoginNameValidation(t *testing.T) {
	for _, good := range []string{"root", "backup", "svc.volsync", "a_b-c", "_x"} {
		if !validLoginName(good) {
			t.Errorf("%q refused", good)
		}
	}
	for _, bad := range []string{"", "a:b", "a b", "-x", "a\nb", strings.Repeat("a", maxLoginName+1), "../x"} {
		if validLoginName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	dir := t.TempDir()
	n := destinationNSS(dir, "/lib/libnss_wrapper.so", []string{"backup", "root"})
	must(n.write())
	b, err := os.ReadFile(n.passwdPath())
	must(err)
	for _, name := range []string{"root", "backup", n.id.userName} {
		if !strings.Contains(string(b), name+":x:") {
			t.Errorf("passwd lacks %s:\n%s", name, b)
		}
	}
	if strings.Count(string(b), "root:x:") != 1 {
		t.Errorf("root twice:\n%s", b)
	}
}

func TestReadPublicKeys(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.pub")
	must(os.WriteFile(p, []byte("# comment\r\nssh-ed25519 AAAAC3Nz comment here\r\n\r\necdsa-sha2-nistp256 AAAAE2 x\n"), 0o644))
	keys, err := readPublicKeys(p)
	if err != nil || len(keys) != 2 || keys[0].String() != "ssh-ed25519 AAAAC3Nz" {
		t.Fatalf("%v %v", keys, err)
	}
	for _, bad := range []string{"", "command=\"x\" ssh-ed25519 AAAA", "-----BEGIN OPENSSH PRIVATE KEY-----"} {
		must(os.WriteFile(p, []byte(bad), 0o644))
		if _, err := readPublicKeys(p); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
