package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/images/internal/rsync"
)

// hostKeyAlias names the destination in the source's known_hosts, whatever its address and port.
const hostKeyAlias = "volsync-destination"

// source pushes the data directory to the destination over ssh.
type source struct {
	cfg    SourceConfig
	log    *rsync.Logger
	tools  rsync.Tools
	ssh    string
	tmp    string
	conf   string
	env    []string
	denied int
}

// RunSource runs the source once and returns its result.
func RunSource(ctx context.Context, cfg SourceConfig, logger *rsync.Logger) rsync.Outcome {
	start := time.Now()
	s := &source{cfg: cfg, log: logger}
	stats, err := s.run(ctx)
	return rsync.Outcome{Result: rsync.NewResult(start, stats, err, logger)}
}

func (s *source) run(ctx context.Context) (rsync.Stats, error) {
	if err := rsync.CheckDataDir(s.cfg.DataDir); err != nil {
		return rsync.Stats{}, err
	}
	var err error
	if s.tools, err = rsync.FindRsync(ctx); err != nil {
		return rsync.Stats{}, err
	}
	if s.ssh, err = exec.LookPath("ssh"); err != nil {
		return rsync.Stats{}, fmt.Errorf("ssh not found (Debian package openssh-client): %w", err)
	}
	if s.tmp, err = rsync.PrivateDir("volsync-rsync-source-"); err != nil {
		return rsync.Stats{}, err
	}
	defer func() { _ = os.RemoveAll(s.tmp) }()
	if err := s.writeConfig(); err != nil {
		return rsync.Stats{}, err
	}
	s.log.Printf("Source: syncing %s to %s@%s:%s (privileged=%t, acls=%t, xattrs=%t)", s.cfg.DataDir, s.cfg.User, s.cfg.Destination, s.cfg.Path, s.cfg.Privileged, s.tools.ACLs, s.tools.Xattrs)

	retrier := rsync.Retrier{Destination: s.cfg.Destination.String(), Delay: s.cfg.RetryDelay, Log: s.log}
	var t rsync.Transfer
	err = retrier.Do(ctx, "sync", func() error {
		var err error
		t, err = s.push(ctx)
		return err
	})
	if err != nil {
		return rsync.Stats{}, err
	}
	if !isVolSync(t.ErrLines) {
		// Not a VolSync destination: an ssh server outside Kubernetes, where "shutdown 0" would
		// be the system's command. The sync is complete.
		s.log.Printf("The destination did not identify itself as a VolSync mover (an ssh server outside Kubernetes?): not sending %q", rsyncc.ShutdownCommand+" 0")
		return t.Stats, nil
	}
	s.log.Printf("Data synchronized; telling the destination to finish")
	err = retrier.Do(ctx, "shutdown", func() error { return s.shutdown(ctx) })
	if err != nil {
		return t.Stats, fmt.Errorf("data synchronized but the destination was not told: %w", err)
	}
	return t.Stats, nil
}

// writeConfig writes the identity, the known host key, ssh's configuration and, when this uid
// has no passwd entry (ssh needs one), the files nss_wrapper gives it.
func (s *source) writeConfig() error {
	id := filepath.Join(s.tmp, "identity")
	if err := copyPrivateKey(keyPath(s.cfg.KeysDir, rsyncc.Source), id); err != nil {
		return fmt.Errorf("source key %s: %w", keyPath(s.cfg.KeysDir, rsyncc.Source), err)
	}
	keys, err := readPublicKeys(keyPath(s.cfg.KeysDir, rsyncc.DestinationPub))
	if err != nil {
		return err
	}
	var kh strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&kh, "%s %s\n", hostKeyAlias, k)
	}
	knownHosts := filepath.Join(s.tmp, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(kh.String()), 0o600); err != nil {
		return fmt.Errorf("writing known_hosts: %w", err)
	}
	s.conf = filepath.Join(s.tmp, "ssh_config")
	if err := os.WriteFile(s.conf, []byte(sshConfig(s.cfg, id, knownHosts)), 0o600); err != nil {
		return fmt.Errorf("writing ssh_config: %w", err)
	}
	for _, p := range []string{s.ssh, s.conf} {
		if strings.ContainsAny(p, "'\"\\ \n") {
			return fmt.Errorf("path %q: spaces, quotes and backslashes are not supported (TMPDIR)", p)
		}
	}
	s.env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "HOME=" + s.tmp, "RSYNC_RSH=" + s.ssh + " -F " + s.conf}
	if me := currentIdentity(); !me.inPasswd {
		lib, err := findNSSWrapper()
		if err != nil {
			return fmt.Errorf("uid %d has no passwd entry, which ssh needs: %w", me.uid, err)
		}
		n := &nssFiles{dir: s.tmp, lib: lib, id: me, home: s.tmp}
		n.add(me.userName)
		if err := n.write(); err != nil {
			return err
		}
		s.env = append(s.env, n.env()...)
	}
	return nil
}

// sshConfig is the source's ssh client configuration: the source key only, the destination's
// host key only (from destination.pub, under an alias so the address and port do not matter),
// no agent, no prompts, and keepalives that end a dead connection.
func sshConfig(c SourceConfig, identity, knownHosts string) string {
	level := "ERROR"
	if c.Debug {
		level = "VERBOSE"
	}
	esc := func(p string) string { return `"` + strings.ReplaceAll(p, "%", "%%") + `"` }
	lines := []string{
		"Host *",
		"  User " + c.User,
		"  Port " + strconv.Itoa(c.Destination.Port),
		"  IdentityFile " + esc(identity),
		"  IdentitiesOnly yes",
		"  IdentityAgent none",
		"  UserKnownHostsFile " + esc(knownHosts),
		"  GlobalKnownHostsFile /dev/null",
		"  StrictHostKeyChecking yes",
		"  HostKeyAlias " + hostKeyAlias,
		"  CheckHostIP no",
		"  UpdateHostKeys no",
		"  BatchMode yes",
		"  PasswordAuthentication no",
		"  KbdInteractiveAuthentication no",
		"  PubkeyAuthentication yes",
		"  ConnectTimeout " + strconv.Itoa(int(ConnectTimeout.Seconds())),
		"  ServerAliveInterval " + strconv.Itoa(int(ServerAliveInterval.Seconds())),
		"  ServerAliveCountMax " + strconv.Itoa(ServerAliveCountMax),
		"  TCPKeepAlive no",
		// rsync compresses (--compress); ssh compressing again only costs CPU.
		"  Compression no",
		"  ControlMaster no",
		"  ControlPath none",
		"  ForwardAgent no",
		"  ForwardX11 no",
		"  ClearAllForwardings yes",
		"  RequestTTY no",
		"  LogLevel " + level,
	}
	return strings.Join(lines, "\n") + "\n"
}

// target is the rsync destination argument: user@host:path, IPv6 in brackets.
func (s *source) target() string {
	host := s.cfg.Destination.Address
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return s.cfg.User + "@" + host + ":" + s.cfg.Path
}

func (s *source) push(ctx context.Context) (rsync.Transfer, error) {
	args := append(rsync.PushArgs(s.tools, s.cfg.Privileged, s.cfg.Debug), rsync.SourceDir(s.cfg.DataDir), s.target())
	t, err := rsync.Push(ctx, s.tools.Rsync, args, s.env, s.cfg.Debug, s.log)
	if err != nil {
		return t, err
	}
	if !t.OK {
		return t, s.classify(t)
	}
	return t, nil
}

// shutdownKex puts the classic key exchange first for the shutdown connection: OpenSSH's
// default (post-quantum sntrup761x25519) costs about 0.3 s of CPU per connection here, as much as
// a no-change sync of 10k files. The connection carries no data; the rsync connection keeps the
// default.
const shutdownKex = "KexAlgorithms=^curve25519-sha256,curve25519-sha256@libssh.org"

// shutdown tells a VolSync destination that the sync succeeded: it exits 0.
func (s *source) shutdown(ctx context.Context) error {
	args := []string{"-F", s.conf, "-o", shutdownKex, s.cfg.Destination.Address, rsyncc.ShutdownCommand + " 0"}
	errLines, rc, err := rsync.Exec(ctx, s.ssh, args, s.env, s.log, func(line string) { s.log.Printf("ssh: %s", line) })
	if err != nil {
		return err
	}
	if rc != 0 {
		return s.classify(rsync.Transfer{RC: rc, ErrLines: errLines})
	}
	return nil
}

// ssh's and the shell's messages, as they appear among rsync's error lines.
var (
	sshConnectFailed = regexp.MustCompile(`^ssh: connect to host \S+ port \d+: (.+)$`)
	sshResolveFailed = regexp.MustCompile(`^ssh: Could not resolve hostname \S+: (.+)$`)
	sshHostKey       = regexp.MustCompile(`Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for|Host key for \S+ has changed`)
	sshDenied        = regexp.MustCompile(`: Permission denied \([a-z,-]+\)\.?$`)
	sshBroken        = regexp.MustCompile(`kex_exchange_identification|Connection closed by|Connection reset|Broken pipe|Connection timed out|banner exchange`)
	noRemoteRsync    = regexp.MustCompile(`rsync: (command )?not found|rsync: No such file or directory`)
)

// classify turns a failed rsync (or ssh) into a failure, looking first at what ssh and the
// destination said.
func (s *source) classify(t rsync.Transfer) error {
	dest := s.cfg.Destination.String()
	var refused, connect, resolve, hostKey, denied, broken, noRsync string
	for _, l := range t.ErrLines {
		switch {
		case strings.HasPrefix(l, rsyncc.MessagePrefix+"refused"):
			refused = strings.TrimPrefix(l, rsyncc.MessagePrefix)
		case sshConnectFailed.MatchString(l):
			connect = sshConnectFailed.FindStringSubmatch(l)[1]
		case sshResolveFailed.MatchString(l):
			resolve = sshResolveFailed.FindStringSubmatch(l)[1]
		case sshHostKey.MatchString(l):
			hostKey = l
		case sshDenied.MatchString(l):
			denied = l
		case noRemoteRsync.MatchString(l):
			noRsync = l
		case sshBroken.MatchString(l):
			broken = l
		}
	}
	unreadable := t.Unreadable(s.cfg.DataDir)
	switch {
	case refused != "":
		return &rsync.Failure{Reason: fmt.Sprintf("the destination %s %s", dest, refused)}
	case hostKey != "":
		return &rsync.Failure{Reason: fmt.Sprintf("host key mismatch: the host key of %s is not %s (the key of another destination, or were the destination's keys regenerated?)", dest, rsyncc.DestinationPub)}
	case denied != "":
		s.denied++
		// A VolSync destination learns a login name it did not know on its first use, so a
		// name other than root gets one more try.
		retry := s.cfg.User != rsyncc.DefaultUser && s.denied == 1
		return &rsync.Failure{Reason: fmt.Sprintf("the destination %s refused the login %q with the source key (permission denied): it does not authorise this %s", dest, s.cfg.User, rsyncc.SourcePub), Transient: retry}
	case connect != "":
		return &rsync.Failure{Reason: connect, Transient: true, Unreachable: true}
	case resolve != "":
		return &rsync.Failure{Reason: "cannot resolve " + s.cfg.Destination.Address + ": " + resolve, Transient: true, Unreachable: true}
	case noRsync != "":
		return &rsync.Failure{Reason: fmt.Sprintf("the destination %s has no rsync (%s)", dest, noRsync)}
	case unreadable != "":
		return &rsync.Failure{Reason: unreadable}
	case broken != "" || t.RC == 255 || rsync.TransientExit(t.RC):
		last := rsync.LastError(t.ErrLines)
		if broken != "" {
			last = broken
		}
		return &rsync.Failure{Reason: fmt.Sprintf("connection to %s failed (exit %d: %s)", dest, t.RC, last), Transient: true}
	default:
		return &rsync.Failure{Reason: fmt.Sprintf("rsync exit %d: %s", t.RC, rsync.LastError(t.ErrLines))}
	}
}

// isVolSync reports whether a VolSync destination answered: it writes rsyncc.Greeting.
func isVolSync(errLines []string) bool {
	for _, l := range errLines {
		if l == rsyncc.Greeting {
			return true
		}
	}
	return false
}
