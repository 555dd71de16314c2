package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/volsync-go/volsync/images/contract/psk"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/proc"
	"github.com/volsync-go/volsync/images/internal/rsync"
	"github.com/volsync-go/volsync/images/internal/stunnel"
)

// ReadyMessage is logged once the server accepts connections.
const ReadyMessage = "Waiting for the source"

// RunServer runs the destination until the source reports a completed sync, and returns its
// result. A source that fails the TLS handshake is logged and the server keeps waiting.
func RunServer(ctx context.Context, cfg ServerConfig, logger *rsync.Logger) rsync.Outcome {
	start := time.Now()
	s := &server{cfg: cfg, log: logger, active: map[string]string{}, events: make(chan struct{}, 1)}
	done, err := s.run(ctx)
	return rsync.Outcome{Result: rsync.NewResult(start, rsync.Stats{BytesSent: done.BytesSent, FilesTransferred: done.FilesTransferred}, err, logger)}
}

type server struct {
	cfg ServerConfig
	log *rsync.Logger
	tmp string

	mu        sync.Mutex
	active    map[string]string // connection thread -> peer
	bound     bool
	lastError string
	sysError  string
	events    chan struct{}
}

func (s *server) run(ctx context.Context) (result.Result, error) {
	var none result.Result
	if err := rsync.CheckDataDir(s.cfg.DataDir); err != nil {
		return none, err
	}
	psks, err := stunnel.ParsePSKFile(s.cfg.KeyFile)
	if err != nil {
		return none, err
	}
	tools, err := FindTools(ctx)
	if err != nil {
		return none, err
	}
	if s.tmp, err = rsync.PrivateDir("rsync-tls-server-"); err != nil {
		return none, err
	}
	defer func() { _ = os.RemoveAll(s.tmp) }()
	controlDir := filepath.Join(s.tmp, ControlModule)
	if err := os.Mkdir(controlDir, 0o700); err != nil {
		return none, fmt.Errorf("creating control directory: %w", err)
	}
	conf, err := s.writeConfig(tools, psks, controlDir)
	if err != nil {
		return none, err
	}

	s.log.Printf("Destination: serving %s on port %d (privileged=%t)", s.cfg.DataDir, s.cfg.ListenPort, s.cfg.Privileged)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	st, err := proc.Start(runCtx, exec.Command(tools.Stunnel, conf), func(line string) { s.log.Printf("stunnel: %s", line) }, s.onLogLine)
	if err != nil {
		return none, err
	}
	marker := filepath.Join(controlDir, DoneMarker)
	err = rsync.Serve{
		Daemon: st, Name: "stunnel", DaemonError: s.stunnelError, Events: s.events, Poll: DonePollInterval,
		Done: func() bool {
			_, err := os.Lstat(marker)
			if err == nil {
				s.log.Printf("The source reported a completed sync")
			}
			return err == nil
		},
		Open: s.openConnections, Drain: DrainTimeout, Log: s.log,
	}.Run(ctx)
	if err != nil {
		return none, err
	}

	if err := unmungeSymlinks(s.cfg.DataDir, s.cfg.Privileged, s.log); err != nil {
		return none, err
	}
	if err := proc.SyncFS(s.cfg.DataDir); err != nil {
		return none, err
	}
	return readMarker(marker), nil
}

func (s *server) writeConfig(tools Tools, psks []psk.PSK, controlDir string) (string, error) {
	secrets := filepath.Join(s.tmp, "psk.txt")
	if err := stunnel.WriteSecrets(secrets, psks); err != nil {
		return "", err
	}
	rsyncd := filepath.Join(s.tmp, "rsyncd.conf")
	text := daemonConfig(s.cfg.DataDir, controlDir, s.cfg.Privileged, s.cfg.Debug)
	if err := os.WriteFile(rsyncd, []byte(text), 0o600); err != nil {
		return "", fmt.Errorf("writing rsyncd.conf: %w", err)
	}
	level := stunnel.LogLevelInfo
	if s.cfg.Debug {
		level = stunnel.LogLevelDebug
	}
	conf := filepath.Join(s.tmp, "stunnel-server.conf")
	err := stunnel.WriteFile(conf, stunnel.ServerConfig{
		ListenAddress: listenAddress(s.cfg.ListenPort),
		SecretsFile:   secrets,
		ExecPath:      tools.Rsync,
		ExecArgs:      []string{"rsync", "--daemon", "--config=" + rsyncd},
		LogLevel:      level,
	})
	return conf, err
}

// listenAddress is every IPv6 and IPv4 address when the pod has IPv6, else every IPv4 address.
func listenAddress(port int) string {
	if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		_ = l.Close()
		return ":::" + strconv.Itoa(port)
	}
	return "0.0.0.0:" + strconv.Itoa(port)
}

// onLogLine handles stunnel's log and the rsync daemons' log (both on stunnel's stderr).
func (s *server) onLogLine(raw string) {
	l, ok := stunnel.ParseLine(raw)
	if !ok {
		s.log.Printf("rsyncd: %s", raw)
		return
	}
	s.mu.Lock()
	switch peer, accepted := l.Accepted(); {
	case accepted:
		s.active[l.Thread] = peer
		s.log.Printf("Connection from %s", peer)
	case l.Closed():
		delete(s.active, l.Thread)
	case l.HandshakeFailed():
		// No key material in stunnel's message: it names the OpenSSL reason only.
		s.log.Printf("TLS handshake from %s failed (PSK mismatch or not a VolSync source?): %s; still waiting", s.active[l.Thread], tlsAlert(l.Msg))
	case l.Bound() && !s.bound:
		s.bound = true
		s.log.Printf("%s on port %d", ReadyMessage, s.cfg.ListenPort)
	case l.SystemError():
		s.sysError = l.Msg
	case l.IsError() && !l.Harmless():
		s.lastError = l.Msg
	}
	s.mu.Unlock()
	if s.cfg.Debug || (l.Level <= 4 || l.SystemError()) && !l.Harmless() && !l.HandshakeFailed() {
		s.log.Printf("stunnel: %s", l.Msg)
	}
	select {
	case s.events <- struct{}{}:
	default:
	}
}

func (s *server) openConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

func (s *server) stunnelError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.sysError != "":
		return s.sysError
	case s.lastError != "":
		return s.lastError
	}
	return "no error logged"
}

// readMarker returns the source's numbers from the completion marker (zero when unreadable:
// the sync itself succeeded).
func readMarker(path string) result.Result {
	f, err := os.Open(path)
	if err != nil {
		return result.Result{}
	}
	defer func() { _ = f.Close() }()
	b, _ := io.ReadAll(io.LimitReader(f, maxDoneMarkerBytes))
	r, err := result.Parse(b)
	if err != nil {
		return result.Result{}
	}
	return r
}
