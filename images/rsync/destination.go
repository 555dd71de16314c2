package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/images/internal/proc"
	"github.com/volsync-go/volsync/images/internal/rsync"
)

// ReadyMessage is logged once sshd accepts connections.
const ReadyMessage = "Waiting for the source"

// destination runs sshd until a source sends "shutdown CODE".
type destination struct {
	cfg   DestinationConfig
	log   *rsync.Logger
	state string
	nss   *nssFiles

	mu       sync.Mutex
	ready    bool
	sshdErr  string
	received rsync.Stats
	shutdown bool
	code     int
	events   chan struct{}
}

// RunDestination runs the destination and returns its outcome: exit code CODE of the source's
// "shutdown CODE" (success when 0).
func RunDestination(ctx context.Context, cfg DestinationConfig, logger *rsync.Logger) rsync.Outcome {
	start := time.Now()
	d := &destination{cfg: cfg, log: logger, events: make(chan struct{}, 1)}
	err := d.run(ctx)
	d.mu.Lock()
	received, code, shutdown := d.received, d.code, d.shutdown
	d.mu.Unlock()
	var exit *int
	if err == nil && shutdown {
		// The exit code is the source's, also when it reports a failure.
		exit = &code
		if code != 0 {
			err = fmt.Errorf("the source ended the sync with \"%s %d\" (it failed)", rsyncc.ShutdownCommand, code)
		}
	}
	return rsync.Outcome{Result: rsync.NewResult(start, received, err, logger), ExitCode: exit}
}

func (d *destination) run(ctx context.Context) error {
	if err := rsync.CheckDataDir(d.cfg.DataDir); err != nil {
		return err
	}
	tools, err := rsync.FindRsync(ctx)
	if err != nil {
		return err
	}
	sshd, err := findSSHD()
	if err != nil {
		return err
	}
	lib, err := findNSSWrapper()
	if err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating this program: %w", err)
	}
	dataDir, err := filepath.Abs(d.cfg.DataDir)
	if err != nil {
		return err
	}
	// The sessions run as the mover's uid (or root): they read command.json and the socket.
	if d.state, err = rsync.PrivateDir("volsync-rsync-destination-"); err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(d.state) }()
	conf, err := d.writeConfig(bin, dataDir, tools, rsync.HasConfineRoot(ctx, tools.Rsync))
	if err != nil {
		return err
	}
	d.nss = destinationNSS(d.state, lib, d.cfg.Users)
	if err := d.nss.write(); err != nil {
		return err
	}
	if d.cfg.Privileged {
		if err := os.MkdirAll(privsepDir, 0o755); err != nil {
			return fmt.Errorf("sshd running as root needs %s: %w", privsepDir, err)
		}
	}
	control, err := net.Listen("unix", filepath.Join(d.state, "control.sock"))
	if err != nil {
		return fmt.Errorf("creating the control socket: %w", err)
	}
	defer func() { _ = control.Close() }()
	go serveControl(control, d.handle)

	d.log.Printf("Destination: receiving into %s on port %d as uid %d (privileged=%t, logins %s)", d.cfg.DataDir, d.cfg.ListenPort, os.Getuid(), d.cfg.Privileged, strings.Join(d.nss.names, ", "))
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	cmd := exec.Command(sshd, "-D", "-e", "-f", conf)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}, d.nss.env()...)
	sp, err := proc.Start(runCtx, cmd, func(line string) { d.log.Printf("sshd: %s", line) }, d.onLogLine)
	if err != nil {
		return err
	}
	// The shutdown's own connection, and any other, must end before sshd goes: the source waits
	// for its answer. Their per-connection processes stay in sshd's process group.
	err = rsync.Serve{
		Daemon: sp, Name: "sshd", DaemonError: d.sshdError, Events: d.events, Poll: PollInterval,
		Done: func() bool {
			d.mu.Lock()
			defer d.mu.Unlock()
			return d.shutdown
		},
		Drain: DrainTimeout, Log: d.log,
	}.Run(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	code := d.code
	d.mu.Unlock()
	if code == 0 {
		return proc.SyncFS(d.cfg.DataDir)
	}
	return nil
}

// writeConfig writes the host key, the authorised keys, sshd's and the forced command's
// configurations into the private directory, and returns sshd's.
func (d *destination) writeConfig(bin, dataDir string, tools rsync.Tools, confineRoot bool) (string, error) {
	hostKey := filepath.Join(d.state, "host_key")
	if err := copyPrivateKey(keyPath(d.cfg.KeysDir, rsyncc.Destination), hostKey); err != nil {
		return "", fmt.Errorf("host key %s: %w", keyPath(d.cfg.KeysDir, rsyncc.Destination), err)
	}
	keys, err := readPublicKeys(keyPath(d.cfg.KeysDir, rsyncc.SourcePub))
	if err != nil {
		return "", err
	}
	command, err := forcedCommand(bin, d.state)
	if err != nil {
		return "", err
	}
	authKeys := filepath.Join(d.state, "authorized_keys")
	if err := os.WriteFile(authKeys, []byte(authorizedKeys(keys, command)), 0o600); err != nil {
		return "", fmt.Errorf("writing authorized_keys: %w", err)
	}
	cc, err := json.Marshal(commandConfig{
		DataDir: dataDir, Rsync: tools.Rsync, ConfineRoot: confineRoot,
		Socket: filepath.Join(d.state, "control.sock"),
	})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(d.state, commandConfigFile), cc, 0o600); err != nil {
		return "", fmt.Errorf("writing the forced command's configuration: %w", err)
	}
	conf := filepath.Join(d.state, "sshd_config")
	text := sshdConfig(d.cfg.ListenPort, hostKey, authKeys, filepath.Join(d.state, "sshd.pid"), d.cfg.Debug)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return "", fmt.Errorf("writing sshd_config: %w", err)
	}
	return conf, nil
}

// handle takes a message of the forced command (on the control socket's goroutines).
func (d *destination) handle(m controlMsg) {
	answer := controlOK
	switch m.kind {
	case msgStart:
		d.log.Printf("Receiving from %s", m.text)
	case msgDone:
		var rc int
		var bytes, files int64
		_, _ = fmt.Sscanf(m.text, "%d %d %d", &rc, &bytes, &files)
		d.mu.Lock()
		d.received.BytesSent += bytes
		d.received.FilesTransferred += files
		d.mu.Unlock()
		d.log.Printf("rsync from the source ended with exit code %d: received %d bytes, %d files", rc, bytes, files)
	case msgRefused:
		d.log.Printf("Refused a command of the source: %s", m.text)
	case msgShutdown:
		code, err := strconv.Atoi(m.text)
		if err != nil || code < 0 || code > 255 {
			answer = "bad exit code " + strconv.Quote(m.text)
			break
		}
		d.mu.Lock()
		first := !d.shutdown
		if first {
			d.shutdown, d.code = true, code
		}
		d.mu.Unlock()
		if first {
			d.log.Printf("The source sent \"%s %d\"", rsyncc.ShutdownCommand, code)
		}
	}
	m.reply(answer)
	d.wake()
}

func (d *destination) wake() {
	select {
	case d.events <- struct{}{}:
	default:
	}
}

// onLogLine handles sshd's log (stderr).
func (d *destination) onLogLine(line string) {
	show := d.cfg.Debug
	switch {
	case sshdListening.MatchString(line):
		d.mu.Lock()
		first := !d.ready
		d.ready = true
		d.mu.Unlock()
		if first {
			d.log.Printf("%s on port %d", ReadyMessage, d.cfg.ListenPort)
		}
	case sshdInvalid.MatchString(line):
		m := sshdInvalid.FindStringSubmatch(line)
		d.learn(m[1], m[2])
	case sshdAccepted.MatchString(line):
		m := sshdAccepted.FindStringSubmatch(line)
		d.log.Printf("Connection from %s (login %s)", m[2], m[1])
	case sshdFailedKey.MatchString(line):
		m := sshdFailedKey.FindStringSubmatch(line)
		d.log.Printf("A client at %s offered no authorised key for login %s (not the source key?); still waiting", m[2], m[1])
	case !sshdQuiet.MatchString(line):
		// Until sshd listens, the first error is why it could not start; later lines (of
		// connections) explain an exit only when nothing else does.
		d.mu.Lock()
		if d.ready && d.sshdErr == "" || !d.ready && d.sshdErr == "" && sshdStartError.MatchString(line) {
			d.sshdErr = line
		}
		d.mu.Unlock()
		show = true
	}
	if show {
		d.log.Printf("sshd: %s", line)
	}
	d.wake()
}

// learn makes a login name that sshd did not know valid from the next connection on: sshd
// needs a passwd entry for the name a client logs in with, and the destination cannot know in
// advance which name a source uses (spec.rsync.sshUser).
func (d *destination) learn(name, peer string) {
	if !validLoginName(name) || d.nss.learned >= maxLearnedNames {
		d.log.Printf("A client at %s tried the login name %q, which is not accepted", peer, name)
		return
	}
	if !d.nss.add(name) {
		return
	}
	d.nss.learned++
	if err := d.nss.write(); err != nil {
		d.log.Printf("Could not add the login name %q: %v", name, err)
		return
	}
	d.log.Printf("A client at %s logged in as %q, a name this destination did not know: accepted from the next connection on", peer, name)
}

func (d *destination) sshdError() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sshdErr != "" {
		return d.sshdErr
	}
	return "no error logged"
}
