package rsynctls

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/psk"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/proc"
	"github.com/volsync-go/volsync/images/internal/stunnel"
)

const (
	// keepErrLines bounds the rsync error lines kept to explain a failure.
	keepErrLines = 200
	// maxNamedPaths and maxPathChars bound the unreadable paths named in a failure, so the
	// result stays within the termination message's size.
	maxNamedPaths = 3
	maxPathChars  = 200
	// privilegedMoversAnnotation is the namespace annotation that lets VolSync run movers as
	// root (the controller's v1alpha1.PrivilegedMoversNamespaceAnnotation; this module has no dependencies).
	privilegedMoversAnnotation = "volsync.backube/privileged-movers"
)

// failure is why one attempt failed and whether another attempt may help.
type failure struct {
	reason      string
	transient   bool
	unreachable bool
}

func (f *failure) Error() string { return f.reason }

// Client pushes the data directory to the destination.
type Client struct {
	cfg   ClientConfig
	log   *Logger
	tools Tools
	tmp   string
	env   []string
	// sleep waits between attempts; tests may replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// RunClient runs the source side once and returns its result.
func RunClient(ctx context.Context, cfg ClientConfig, logger *Logger) result.Result {
	start := time.Now()
	c := &Client{cfg: cfg, log: logger, sleep: sleepCtx}
	stats, err := c.run(ctx)
	r := result.Result{
		Outcome:          result.OutcomeSuccessful,
		BytesSent:        stats.BytesSent,
		FilesTransferred: stats.FilesTransferred,
		DurationSeconds:  time.Since(start).Seconds(),
	}
	if err != nil {
		r.Outcome = result.OutcomeFailed
		r.Error = err.Error()
		logger.Printf("Synchronization failed: %s", r.Error)
	} else {
		logger.Printf("Synchronization completed in %.1fs: %d bytes sent, %d files transferred", r.DurationSeconds, r.BytesSent, r.FilesTransferred)
	}
	return r
}

func (c *Client) run(ctx context.Context) (Stats, error) {
	if err := checkDataDir(c.cfg.DataDir); err != nil {
		return Stats{}, err
	}
	psks, err := stunnel.ParsePSKFile(c.cfg.KeyFile)
	if err != nil {
		return Stats{}, err
	}
	if c.tools, err = FindTools(ctx); err != nil {
		return Stats{}, err
	}
	if c.tmp, err = os.MkdirTemp("", "rsync-tls-client-"); err != nil {
		return Stats{}, fmt.Errorf("creating temporary directory (is TMPDIR writable?): %w", err)
	}
	defer func() { _ = os.RemoveAll(c.tmp) }()
	if err := c.writeConfig(psks); err != nil {
		return Stats{}, err
	}
	c.log.Printf("Source: syncing %s to %s (privileged=%t, acls=%t, xattrs=%t)", c.cfg.DataDir, c.cfg.DisplayDestination(), c.cfg.Privileged, c.tools.ACLs, c.tools.Xattrs)

	var stats Stats
	err = c.retry(ctx, "sync", func() error {
		var err error
		stats, err = c.syncData(ctx)
		return err
	})
	if err != nil {
		return Stats{}, err
	}
	c.log.Printf("Data synchronized; notifying the destination")
	err = c.retry(ctx, "completion notice", func() error { return c.sendDone(ctx, stats) })
	if err != nil {
		return stats, fmt.Errorf("data synchronized but the destination was not told: %w", err)
	}
	return stats, nil
}

func (c *Client) writeConfig(psks []psk.PSK) error {
	secrets := filepath.Join(c.tmp, "psk.txt")
	if err := stunnel.WriteSecrets(secrets, psks); err != nil {
		return err
	}
	level := stunnel.LogLevelInfo
	if c.cfg.Debug {
		level = stunnel.LogLevelDebug
	}
	conf := filepath.Join(c.tmp, "stunnel-client.conf")
	err := stunnel.WriteFile(conf, stunnel.ClientConfig{
		Connect:     c.cfg.Destination(),
		SecretsFile: secrets,
		Identity:    psks[0].Identity,
		LogFile:     c.stunnelLog(),
		LogLevel:    level,
	})
	if err != nil {
		return err
	}
	// rsync runs this through /bin/sh for each connection; stunnel's early messages (before its
	// log file is open) go to a second file.
	prog := "exec " + shQuote(c.tools.Stunnel) + " " + shQuote(conf) + " 2>>" + shQuote(c.stunnelErr())
	c.env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "RSYNC_CONNECT_PROG=" + prog}
	return nil
}

func (c *Client) stunnelLog() string { return filepath.Join(c.tmp, "stunnel-client.log") }
func (c *Client) stunnelErr() string { return filepath.Join(c.tmp, "stunnel-client.err") }

// retry runs fn up to MaxAttempts times while it fails transiently, doubling the wait.
func (c *Client) retry(ctx context.Context, what string, fn func() error) error {
	delay := c.cfg.RetryDelay
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("terminated during %s: %w", what, ctx.Err())
		}
		var f *failure
		if !errors.As(err, &f) || !f.transient {
			return err
		}
		if attempt >= MaxAttempts {
			if f.unreachable {
				return fmt.Errorf("destination %s unreachable after %d attempts (%s)", c.cfg.DisplayDestination(), attempt, f.reason)
			}
			return fmt.Errorf("%s to %s failed after %d attempts: %w", what, c.cfg.DisplayDestination(), attempt, err)
		}
		c.log.Printf("Attempt %d/%d of %s failed: %s; retrying in %s", attempt, MaxAttempts, what, f.reason, delay)
		if err := c.sleep(ctx, delay); err != nil {
			return fmt.Errorf("terminated during %s: %w", what, err)
		}
		delay *= 2
	}
}

func (c *Client) syncData(ctx context.Context) (Stats, error) {
	var stats Stats
	args := clientArgs(c.tools, c.cfg.Privileged, c.cfg.Debug, c.cfg.DataDir)
	errLines, rc, err := c.rsync(ctx, args, func(line string) {
		if stats.Parse(line) || c.cfg.Debug || isStatsLine(line) {
			c.log.Printf("rsync: %s", line)
		}
	})
	if err != nil {
		return stats, err
	}
	switch {
	case rc == 0:
	case rc == rsyncVanished:
		c.log.Printf("Some source files vanished during the transfer (the volume is in use); they are absent on the destination too")
	case rc == rsyncPartial && onlyRootAttrErrors(errLines):
		c.log.Printf("The destination's top directory is not owned by this user; its times/permissions were left as they are")
	default:
		return stats, c.classify(rc, errLines)
	}
	if !stats.Complete() {
		c.log.Printf("rsync printed no complete statistics; reporting what it printed")
	}
	return stats, nil
}

func (c *Client) sendDone(ctx context.Context, stats Stats) error {
	marker := filepath.Join(c.tmp, DoneMarker)
	b, err := result.Result{
		Outcome: result.OutcomeSuccessful, BytesSent: stats.BytesSent, FilesTransferred: stats.FilesTransferred,
	}.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(marker, b, 0o600); err != nil {
		return fmt.Errorf("writing completion marker: %w", err)
	}
	args := []string{"--timeout=" + fmt.Sprint(int(RsyncIOTimeout.Seconds())), marker, moduleURL(ControlModule)}
	errLines, rc, err := c.rsync(ctx, args, nil)
	if err != nil {
		return err
	}
	if rc != 0 {
		return c.classify(rc, errLines)
	}
	return nil
}

// rsync runs one rsync through stunnel and returns its error output and exit code.
func (c *Client) rsync(ctx context.Context, args []string, stdout proc.LineFunc) ([]string, int, error) {
	for _, f := range []string{c.stunnelLog(), c.stunnelErr()} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			return nil, -1, fmt.Errorf("resetting %s: %w", f, err)
		}
	}
	cmd := exec.Command(c.tools.Rsync, args...)
	cmd.Env = c.env
	var errLines []string
	rc, err := proc.Run(ctx, cmd, stdout, func(line string) {
		c.log.Printf("rsync: %s", line)
		if len(errLines) < keepErrLines {
			errLines = append(errLines, line)
		}
	})
	if err != nil && rc == -1 {
		if ctx.Err() != nil {
			return errLines, rc, ctx.Err()
		}
		return errLines, rc, fmt.Errorf("running rsync: %w", err)
	}
	return errLines, rc, nil
}

// classify turns a failed rsync into a failure, looking first at what stunnel saw.
func (c *Client) classify(rc int, errLines []string) error {
	var tlsFailed, configFailed, connectFailed string
	for _, f := range []string{c.stunnelErr(), c.stunnelLog()} {
		data, _ := os.ReadFile(f)
		for _, raw := range strings.Split(string(data), "\n") {
			l, ok := stunnel.ParseLine(raw)
			if !ok {
				continue
			}
			if c.cfg.Debug || (l.IsError() && !l.Harmless()) {
				c.log.Printf("stunnel: %s", l.Msg)
			}
			switch {
			case l.HandshakeFailed():
				tlsFailed = l.Msg
			case l.ConnectFailed():
				if connectFailed == "" {
					connectFailed = l.Msg
				}
			case l.Thread == "ui" && l.IsError() && !l.Harmless():
				configFailed = l.Msg
			}
		}
	}
	dest := c.cfg.DisplayDestination()
	unreadable := unreadablePaths(errLines, c.cfg.DataDir)
	switch {
	case tlsFailed != "":
		return &failure{reason: fmt.Sprintf("TLS handshake with %s failed: PSK mismatch? (%s)", dest, tlsAlert(tlsFailed))}
	case configFailed != "":
		return &failure{reason: "stunnel client failed: " + configFailed}
	case connectFailed != "":
		return &failure{reason: connectCause(connectFailed), transient: true, unreachable: true}
	case rc == rsyncPartial && len(unreadable) > 0:
		return &failure{reason: unreadableReason(unreadable, len(errLines) >= keepErrLines, os.Geteuid())}
	case transientExitCodes[rc]:
		return &failure{reason: fmt.Sprintf("connection to %s failed (rsync exit %d: %s)", dest, rc, lastRsyncError(errLines)), transient: true}
	default:
		return &failure{reason: fmt.Sprintf("rsync exit %d: %s", rc, lastRsyncError(errLines))}
	}
}

// unreadableReason explains a sync that failed because the mover's user may not read some source
// entries, naming the first few and what the user can do. A partial copy is never accepted: the
// destination would keep an image without those files and nobody would notice.
func unreadableReason(paths []string, more bool, uid int) string {
	shown := make([]string, 0, maxNamedPaths)
	for _, p := range paths[:min(len(paths), maxNamedPaths)] {
		if len(p) > maxPathChars {
			p = p[:maxPathChars] + "..."
		}
		shown = append(shown, strconv.Quote(p))
	}
	count := strconv.Itoa(len(paths)) + " source entries"
	if len(paths) == 1 {
		count = "1 source entry"
	}
	if more {
		count = "at least " + count
	}
	list := strings.Join(shown, ", ")
	if len(paths) > len(shown) {
		list += ", ..."
	}
	if uid == 0 {
		return fmt.Sprintf("rsync exit %d: root cannot read %s (permission denied, e.g. an NFS export that squashes root): %s; "+
			"make them readable or run the mover as their owner with moverSecurityContext", rsyncPartial, count, list)
	}
	return fmt.Sprintf("rsync exit %d: the mover (uid %d) cannot read %s (permission denied): %s; "+
		"a non-root mover reads only what its uid, its groups or everyone may read (directories must also be searchable): "+
		"run it as the application's user (moverSecurityContext with the application's runAsUser, runAsGroup and fsGroup) "+
		"or allow privileged movers with the namespace annotation %s=\"true\"", rsyncPartial, uid, count, list, privilegedMoversAnnotation)
}

// tlsAlert keeps the OpenSSL reason ("binder does not verify", "sslv3 alert illegal parameter")
// from a long stunnel error line.
func tlsAlert(msg string) string {
	if i := strings.LastIndex(msg, "::"); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// connectCause keeps the system's reason ("Connection refused (111)") of a connect error.
func connectCause(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "s_connect: ") {
		return msg[i+2:]
	}
	return msg
}

func isStatsLine(line string) bool {
	return strings.HasPrefix(line, "Number of ") || strings.HasPrefix(line, "Total ") || strings.HasPrefix(line, "sent ")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// shQuote quotes s for /bin/sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
