package rsync

import (
	"slices"
	"strings"
	"testing"
)

func TestRsyncCapabilities(t *testing.T) {
	v := `rsync  version 3.2.7  protocol version 31
Capabilities:
    64-bit files, 64-bit inums, 64-bit timestamps, 64-bit long ints,
    hardlink-symlinks, IPv6, atimes, batchfiles, inplace, append, ACLs,
    xattrs, optional secluded-args, iconv, prealloc, stop-at, no crtimes`
	if a, x := Capabilities(v); !a || !x {
		t.Fatalf("acls=%v xattrs=%v", a, x)
	}
	if a, x := Capabilities(strings.NewReplacer("ACLs", "no ACLs", "xattrs", "no xattrs").Replace(v)); a || x {
		t.Fatalf("acls=%v xattrs=%v for a build without them", a, x)
	}
}

func TestPushArgs(t *testing.T) {
	all := Tools{ACLs: true, Xattrs: true}
	priv := PushArgs(all, true, false)
	unpriv := PushArgs(all, false, true)
	for _, args := range [][]string{priv, unpriv} {
		for _, want := range []string{"--archive", "--hard-links", "--sparse", "--one-file-system", "--numeric-ids", "--delete", "--stats", "--acls", "--xattrs", "--exclude=/lost+found"} {
			if !slices.Contains(args, want) {
				t.Errorf("%v lacks %s", args, want)
			}
		}
		// One pass over the directory itself: no globbing, no file list.
		for _, a := range args {
			if strings.HasPrefix(a, "--files-from") || strings.Contains(a, "*") && !strings.HasPrefix(a, "--filter=-x") {
				t.Errorf("unexpected argument %s", a)
			}
		}
	}
	if slices.Contains(priv, "--no-owner") || !slices.Contains(unpriv, "--no-owner") || !slices.Contains(unpriv, "--no-group") {
		t.Errorf("ownership only when privileged: %v / %v", priv, unpriv)
	}
	if !slices.Contains(priv, "--filter=-x security.selinux") || slices.Contains(unpriv, "--filter=-x security.selinux") {
		t.Errorf("SELinux labels are not copied by root: %v", priv)
	}
	if !slices.Contains(unpriv, "--itemize-changes") || slices.Contains(priv, "--itemize-changes") {
		t.Errorf("itemized output only in debug mode")
	}
	if slices.Contains(PushArgs(Tools{}, true, false), "--acls") {
		t.Errorf("--acls without rsync support")
	}
	if SourceDir("/data") != "/data/" || SourceDir("/data/") != "/data/" {
		t.Errorf("SourceDir")
	}
}

func TestStatsParse(t *testing.T) {
	out := `Number of files: 100,001 (reg: 100,000, dir: 1)
Number of created files: 0
Number of deleted files: 0
Number of regular files transferred: 1,234
Total file size: 1,073,741,824 bytes
Total bytes sent: 10,987,654
Total bytes received: 12,345`
	var s Stats
	for _, l := range strings.Split(out, "\n") {
		s.Parse(l)
	}
	if !s.Complete() || s.BytesSent != 10987654 || s.FilesTransferred != 1234 {
		t.Fatalf("%+v", s)
	}
}

func TestOnlyRootAttrErrors(t *testing.T) {
	summary := "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]"
	cases := []struct {
		lines []string
		want  bool
	}{
		{[]string{`rsync: [generator] failed to set times on "." (in data): Operation not permitted (1)`, summary}, true},
		{[]string{`rsync: [generator] failed to set permissions on "." (in data): Operation not permitted (1)`, `rsync: [generator] failed to set times on "." (in data): Operation not permitted (1)`, summary}, true},
		{[]string{`rsync: [generator] failed to set times on "." (in data): Operation not permitted (1)`, `rsync: [receiver] mkstemp ".a.x" (in data) failed: Permission denied (13)`, summary}, false},
		{[]string{`rsync: [generator] failed to set times on "sub" (in data): Operation not permitted (1)`, summary}, false},
		{[]string{`rsync: [sender] send_files failed to open "/data/secret": Permission denied (13)`, summary}, false},
		{[]string{summary}, false},
	}
	for i, tc := range cases {
		if got := OnlyRootAttrErrors(tc.lines); got != tc.want {
			t.Errorf("case %d: got %v, want %v", i, got, tc.want)
		}
	}
}

func TestUnreadablePaths(t *testing.T) {
	summary := "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]"
	lines := []string{
		`rsync: [sender] opendir "/data/closed" failed: Permission denied (13)`,
		`rsync: [generator] failed to set permissions on "." (in data): Operation not permitted (1)`,
		`rsync: [sender] send_files failed to open "/data/secret": Permission denied (13)`,
		`rsync: [sender] send_files failed to open "/data/sub/we ird"name": Permission denied (13)`,
		`rsync: [sender] get_xattr_names: llistxattr("/data/x",1024) failed: Permission denied (13)`,
		`rsync: [sender] change_dir "/data" failed: Permission denied (13)`,
		`rsync: [receiver] mkstemp "/data/.a.x" failed: Permission denied (13)`,
		`rsync: [sender] send_files failed to open "/data/gone": No such file or directory (2)`,
		`IO error encountered -- skipping file deletion`,
		summary,
	}
	got := UnreadablePaths(lines, "/data")
	want := []string{"closed", "secret", `sub/we ird"name`, "x", "."}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := UnreadablePaths([]string{summary}, "/data/"); len(got) != 0 {
		t.Fatalf("no unreadable path in %q: %q", summary, got)
	}
}

func TestUnreadableReason(t *testing.T) {
	long := strings.Repeat("d/", 300) + "f"
	got := UnreadableReason([]string{"secret", "closed", long, "fourth"}, false, 65534)
	for _, want := range []string{
		"rsync exit 23: the mover (uid 65534) cannot read 4 source entries (permission denied)", `"secret", "closed", "d/d/`,
		`...", ...;`, "moverSecurityContext", `volsync.backube/privileged-movers="true"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("reason lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "fourth") || len(got) > 1024 {
		t.Errorf("reason names more than %d paths or is too long (%d bytes): %s", maxNamedPaths, len(got), got)
	}
	if got := UnreadableReason([]string{"a"}, true, 65534); !strings.Contains(got, "at least 1 source entry") {
		t.Errorf("a truncated error list must not claim an exact count: %s", got)
	}
	if got := UnreadableReason([]string{"a"}, false, 0); !strings.Contains(got, "root cannot read 1 source entry") || strings.Contains(got, "privileged-movers") {
		t.Errorf("root: %s", got)
	}
}
