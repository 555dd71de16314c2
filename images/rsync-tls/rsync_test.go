package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/internal/rsync"
)

func TestClientArgs(t *testing.T) {
	tools := Tools{Tools: rsync.Tools{ACLs: true, Xattrs: true}}
	args := clientArgs(tools, true, false, "/data")
	if !slices.Equal(args[:len(args)-2], rsync.PushArgs(tools.Tools, true, false)) {
		t.Errorf("not the shared push options: %v", args)
	}
	// One pass over the directory itself, to the data module.
	if got := args[len(args)-2:]; got[0] != "/data/" || got[1] != "rsync://volsync/data/" {
		t.Errorf("source/destination %v", got)
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
	c, err := LoadClientConfig(env(mover.EnvDestinationAddress, "[fd00::1]"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != mover.DataDir || c.KeyFile != DefaultKeyFile || c.Destination.Port != DefaultPort || c.RetryDelay != rsync.DefaultRetryDelay || c.ResultPath != "/dev/termination-log" {
		t.Errorf("defaults: %+v", c)
	}
	if c.Destination.HostPort() != "fd00::1:8000" || c.Destination.String() != "[fd00::1]:8000" {
		t.Errorf("destination %s / %s", c.Destination.HostPort(), c.Destination)
	}
	c, err = LoadClientConfig(env(mover.EnvDestinationAddress, "h", mover.EnvDestinationPort, "9000", mover.EnvDataDir, "/x", EnvKeyFile, "/k", mover.EnvDebug, "1", mover.EnvRetryDelay, "10ms"))
	if err != nil || c.Destination.Port != 9000 || c.DataDir != "/x" || c.KeyFile != "/k" || !c.Debug || c.RetryDelay != 10*time.Millisecond {
		t.Errorf("overrides: %+v %v", c, err)
	}
	for _, bad := range []func(string) string{
		env(),
		env(mover.EnvDestinationAddress, "h", mover.EnvDestinationPort, "0"),
		env(mover.EnvDestinationAddress, "h", mover.EnvDestinationPort, "http"),
		env(mover.EnvDestinationAddress, "h\nexec = /bin/sh"),
		env(mover.EnvDestinationAddress, "h", mover.EnvRetryDelay, "soon"),
	} {
		if _, err := LoadClientConfig(bad); err == nil {
			t.Errorf("accepted %q:%q", bad(mover.EnvDestinationAddress), bad(mover.EnvDestinationPort))
		}
	}
	s, err := LoadServerConfig(env())
	if err != nil || s.ListenPort != DefaultPort {
		t.Errorf("server defaults: %+v %v", s, err)
	}
	if _, err := LoadServerConfig(env(mover.EnvListenPort, "70000")); err == nil {
		t.Error("port 70000 accepted")
	}
}
