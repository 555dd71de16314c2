package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/internal/rsync"
)

func TestSourceTargetAndConfig(t *testing.T) {
	c := SourceConfig{Destination: rsync.Destination{Address: "fd00::1", Port: 2222}, User: "backup", Path: "."}
	s := &source{cfg: c}
	if got := s.target(); got != "backup@[fd00::1]:." {
		t.Errorf("target %q", got)
	}
	s.cfg.Destination.Address = "dest.example.com"
	if got := s.target(); got != "backup@dest.example.com:." {
		t.Errorf("target %q", got)
	}
	conf := sshConfig(c, "/tmp/x%y/identity", "/tmp/kh")
	for _, want := range []string{"User backup", "Port 2222", `IdentityFile "/tmp/x%%y/identity"`, "IdentitiesOnly yes", "StrictHostKeyChecking yes",
		"HostKeyAlias " + hostKeyAlias, "CheckHostIP no", "BatchMode yes", "GlobalKnownHostsFile /dev/null", "ServerAliveInterval 30", "LogLevel ERROR"} {
		if !strings.Contains(conf, want+"\n") {
			t.Errorf("ssh_config lacks %q:\n%s", want, conf)
		}
	}
}

func TestSourceClassify(t *testing.T) {
	s := &source{cfg: SourceConfig{Destination: rsync.Destination{Address: "10.0.0.1", Port: 22}, User: "root", Common: rsync.Common{DataDir: "/data"}}}
	lost := "rsync: connection unexpectedly closed (0 bytes received so far) [sender]"
	cases := []struct {
		lines     []string
		rc        int
		want      string
		transient bool
	}{
		{[]string{"ssh: connect to host 10.0.0.1 port 22: Connection refused", lost}, 255, "Connection refused", true},
		{[]string{"ssh: Could not resolve hostname nowhere: Name or service not known", lost}, 255, "cannot resolve 10.0.0.1: Name or service not known", true},
		{[]string{"root@10.0.0.1: Permission denied (publickey).", lost}, 255, `refused the login "root" with the source key (permission denied)`, false},
		{[]string{"No ED25519 host key is known for volsync-destination and you have requested strict checking.", "Host key verification failed.", lost}, 255, "host key mismatch", false},
		{[]string{`volsync-rsync destination: refused "cat": only ...`, lost}, 12, `the destination 10.0.0.1:22 refused "cat"`, false},
		{[]string{"bash: line 1: rsync: command not found", lost}, 12, "has no rsync", false},
		{[]string{"kex_exchange_identification: read: Connection reset by peer", lost}, 255, "connection to 10.0.0.1:22 failed", true},
		{[]string{`rsync: [sender] send_files failed to open "/data/secret": Permission denied (13)`, "rsync error: some files/attrs were not transferred (see previous errors) (code 23)"}, 23, "cannot read 1 source entry", false},
		{[]string{"rsync: [receiver] write failed on \"/x\": No space left on device (28)"}, 11, "rsync exit 11: rsync: [receiver] write failed", false},
	}
	for _, tc := range cases {
		err := s.classify(rsync.Transfer{ErrLines: tc.lines, RC: tc.rc})
		var f *rsync.Failure
		if !errors.As(err, &f) || !strings.Contains(f.Reason, tc.want) || f.Transient != tc.transient {
			t.Errorf("%q: %+v, want %q (transient %v)", tc.lines[0], err, tc.want, tc.transient)
		}
	}
	// Another login name gets one more try: the destination learns it on first use.
	s.cfg.User, s.denied = "backup", 0
	for i, want := range []bool{true, false} {
		var f *rsync.Failure
		if !errors.As(s.classify(rsync.Transfer{ErrLines: []string{"backup@10.0.0.1: Permission denied (publickey)."}, RC: 255}), &f) || f.Transient != want {
			t.Errorf("denied attempt %d: transient %v", i+1, f.Transient)
		}
	}
}
