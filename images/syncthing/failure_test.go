package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/syncthing"
	"github.com/volsync-go/volsync/images/internal/movertest"
)

// without is vars without the variable name.
func without(vars []string, name string) []string {
	var out []string
	for _, kv := range vars {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// fail runs the mover with vars and args, expecting it to fail with wantRC and a reason
// holding every want; it checks the API key is not shown and nothing was started.
func (p *peer) fail(t *testing.T, vars []string, args []string, wantRC int, want ...string) {
	t.Helper()
	proc := p.Start(vars, append([]string{moverBin}, args...)...)
	rc := proc.Wait(t, movertest.ExitTimeout)
	movertest.CheckFailed(t, p.Env, proc, rc, wantRC, want...)
	if strings.Contains(proc.Out()+proc.ErrOut(), p.apiKey) {
		t.Errorf("the API key is shown: %s %s", proc.Out(), proc.ErrOut())
	}
	if strings.Contains(proc.Out(), "Starting syncthing") {
		t.Errorf("syncthing was started: %s", proc.Out())
	}
}

// TestMissingVariable: each required variable missing (or empty) is a one-line reason naming
// it, exit 1, before anything is written.
func TestMissingVariable(t *testing.T) {
	p := newPeer(t, "missing", nobody)
	for _, name := range []string{syncthing.EnvDataDir, syncthing.EnvConfigDir, syncthing.EnvCertDir, syncthing.EnvAPIKey, mover.EnvPrivileged} {
		p.fail(t, without(p.vars(), name), []string{syncthing.CommandRun}, ExitFailed, name+" must be defined")
		p.fail(t, append(without(p.vars(), name), name+"="), []string{syncthing.CommandRun}, ExitFailed, name+" must be defined")
	}
	if _, err := os.Stat(filepath.Join(p.config, ConfigFile)); err == nil {
		t.Error("config.xml was written")
	}
}

// TestUsage: no command, an unknown one or a malformed address: exit 2.
func TestUsage(t *testing.T) {
	p := newPeer(t, "usage", nobody)
	p.fail(t, p.vars(), nil, ExitUsage, "no command", "usage: volsync-syncthing run")
	p.fail(t, p.vars(), []string{"sync"}, ExitUsage, `unknown command "sync"`, "usage: volsync-syncthing run")
	p.fail(t, p.vars(), []string{syncthing.CommandRun, "extra"}, ExitUsage, `unknown command "run extra"`)
	p.fail(t, append(p.vars(), syncthing.EnvAPIAddress+"=https://0.0.0.0:8384"), []string{syncthing.CommandRun}, ExitUsage, syncthing.EnvAPIAddress, "host:port")
	p.fail(t, append(p.vars(), syncthing.EnvListenAddress+"=0.0.0.0:22000"), []string{syncthing.CommandRun}, ExitUsage, syncthing.EnvListenAddress)
}

// TestUnwritableData: a data volume the mover's uid may not write (an application's files
// of another uid, no fsGroup) is a clear reason, not syncthing's folder error.
func TestUnwritableData(t *testing.T) {
	movertest.RequireRoot(t, "a data directory of another owner")
	p := newPeer(t, "unwritable", nobody)
	must(os.Chown(p.Data, 0, 0))
	p.fail(t, p.vars(), []string{syncthing.CommandRun}, ExitFailed,
		"data directory "+p.Data+" is not writable by uid 65534", "moverSecurityContext", "privileged movers")

	// The configuration volume too.
	must(os.Chown(p.Data, nobody, nobody))
	must(os.Chown(p.config, 0, 0))
	p.fail(t, p.vars(), []string{syncthing.CommandRun}, ExitFailed, "configuration directory "+p.config+" is not writable by uid 65534")
}

// TestBadAPICertificate: a certificate and key that do not match, or a certificate syncthing
// would replace with its own (expiring within 30 days): the controller would not trust the
// API, so the mover refuses to start.
func TestBadAPICertificate(t *testing.T) {
	p := newPeer(t, "badcert", nobody)
	_, otherKey, _ := newCert(t, timeIn(365))
	must(os.WriteFile(filepath.Join(p.certs, syncthing.HTTPSKeyFile), otherKey, 0o644))
	p.fail(t, p.vars(), []string{syncthing.CommandRun}, ExitFailed, "API certificate", "private key does not match public key")

	certPEM, keyPEM, _ := newCert(t, timeIn(10))
	must(os.WriteFile(filepath.Join(p.certs, syncthing.HTTPSCertFile), certPEM, 0o644))
	must(os.WriteFile(filepath.Join(p.certs, syncthing.HTTPSKeyFile), keyPEM, 0o644))
	p.fail(t, p.vars(), []string{syncthing.CommandRun}, ExitFailed, "expires within 30 days", "syncthing would replace it")

	must(os.Remove(filepath.Join(p.certs, syncthing.HTTPSCertFile)))
	p.fail(t, p.vars(), []string{syncthing.CommandRun}, ExitFailed, "API certificate", syncthing.HTTPSCertFile, "no such file")
}

// TestNoSyncthing: syncthing missing from PATH is a clear reason.
func TestNoSyncthing(t *testing.T) {
	p := newPeer(t, "notool", nobody)
	vars := append(without(p.vars(), "PATH"), "PATH=/nonexistent")
	p.fail(t, vars, []string{syncthing.CommandRun}, ExitFailed, "syncthing not found in PATH")
}
