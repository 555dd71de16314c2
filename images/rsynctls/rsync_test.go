package rsynctls

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRsyncCapabilities(t *testing.T) {
	v := `rsync  version 3.2.7  protocol version 31
Capabilities:
    64-bit files, 64-bit inums, 64-bit timestamps, 64-bit long ints,
    hardlink-symlinks, IPv6, atimes, batchfiles, inplace, append, ACLs,
    xattrs, optional secluded-args, iconv, prealloc, stop-at, no crtimes`
	if a, x := rsyncCapabilities(v); !a || !x {
		t.Fatalf("acls=%v xattrs=%v", a, x)
	}
	if a, x := rsyncCapabilities(strings.NewReplacer("ACLs", "no ACLs", "xattrs", "no xattrs").Replace(v)); a || x {
		t.Fatalf("acls=%v xattrs=%v for a build without them", a, x)
	}
}

func TestClientArgs(t *testing.T) {
	all := Tools{ACLs: true, Xattrs: true}
	priv := clientArgs(all, true, false, "/data")
	unpriv := clientArgs(all, false, true, "/data/")
	for _, args := range [][]string{priv, unpriv} {
		for _, want := range []string{"--archive", "--hard-links", "--sparse", "--one-file-system", "--numeric-ids", "--delete", "--stats", "--acls", "--xattrs", "--exclude=/lost+found"} {
			if !slices.Contains(args, want) {
				t.Errorf("%v lacks %s", args, want)
			}
		}
		// One pass over the directory itself: no globbing, no file list.
		if got := args[len(args)-2:]; got[0] != "/data/" || got[1] != "rsync://volsync/data/" {
			t.Errorf("source/destination %v", got)
		}
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
	if slices.Contains(clientArgs(Tools{}, true, false, "/data"), "--acls") {
		t.Errorf("--acls without rsync support")
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
		if got := onlyRootAttrErrors(tc.lines); got != tc.want {
			t.Errorf("case %d: got %v, want %v", i, got, tc.want)
		}
	}
}

func TestDaemonConfig(t *testing.T) {
	unpriv := daemonConfig("/data", "/tmp/x/control", false, false)
	priv := daemonConfig("/data", "/tmp/x/control", true, false)
	for _, want := range []string{"use chroot = no", "munge symlinks = yes", "numeric ids = yes", "[data]\npath = /data\n", "[control]\npath = /tmp/x/control\nwrite only = yes", "log file = /dev/stderr"} {
		if !strings.Contains(unpriv, want) {
			t.Errorf("lacks %q:\n%s", want, unpriv)
		}
	}
	if strings.Contains(unpriv, "uid =") || !strings.Contains(priv, "uid = 0\ngid = 0") {
		t.Errorf("uid/gid only for root:\n%s\n%s", unpriv, priv)
	}
}

func TestLoadConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := LoadClientConfig(env(EnvDestinationAddress, "[fd00::1]"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != DefaultDataDir || c.KeyFile != DefaultKeyFile || c.DestinationPort != DefaultPort || c.RetryDelay != DefaultRetryDelay || c.ResultPath != "/dev/termination-log" {
		t.Errorf("defaults: %+v", c)
	}
	if c.Destination() != "fd00::1:8000" || c.DisplayDestination() != "[fd00::1]:8000" {
		t.Errorf("destination %s / %s", c.Destination(), c.DisplayDestination())
	}
	c, err = LoadClientConfig(env(EnvDestinationAddress, "h", EnvDestinationPort, "9000", EnvDataDir, "/x", EnvKeyFile, "/k", EnvDebug, "1", EnvRetryDelay, "10ms"))
	if err != nil || c.DestinationPort != 9000 || c.DataDir != "/x" || c.KeyFile != "/k" || !c.Debug || c.RetryDelay != 10*time.Millisecond {
		t.Errorf("overrides: %+v %v", c, err)
	}
	for _, bad := range []func(string) string{
		env(),
		env(EnvDestinationAddress, "h", EnvDestinationPort, "0"),
		env(EnvDestinationAddress, "h", EnvDestinationPort, "http"),
		env(EnvDestinationAddress, "h\nexec = /bin/sh"),
		env(EnvDestinationAddress, "h", EnvRetryDelay, "soon"),
	} {
		if _, err := LoadClientConfig(bad); err == nil {
			t.Errorf("accepted %q:%q", bad(EnvDestinationAddress), bad(EnvDestinationPort))
		}
	}
	s, err := LoadServerConfig(env())
	if err != nil || s.ListenPort != DefaultPort {
		t.Errorf("server defaults: %+v %v", s, err)
	}
	if _, err := LoadServerConfig(env(EnvListenPort, "70000")); err == nil {
		t.Error("port 70000 accepted")
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
	got := unreadablePaths(lines, "/data")
	want := []string{"closed", "secret", `sub/we ird"name`, "x", "."}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := unreadablePaths([]string{summary}, "/data/"); len(got) != 0 {
		t.Fatalf("no unreadable path in %q: %q", summary, got)
	}
}

func TestUnreadableReason(t *testing.T) {
	long := strings.Repeat("d/", 300) + "f"
	got := unreadableReason([]string{"secret", "closed", long, "fourth"}, false, 65534)
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
	if got := unreadableReason([]string{"a"}, true, 65534); !strings.Contains(got, "at least 1 source entry") {
		t.Errorf("a truncated error list must not claim an exact count: %s", got)
	}
	if got := unreadableReason([]string{"a"}, false, 0); !strings.Contains(got, "root cannot read 1 source entry") || strings.Contains(got, "privileged-movers") {
		t.Errorf("root: %s", got)
	}
}
