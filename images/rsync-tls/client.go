package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/psk"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/rsync"
	"github.com/volsync-go/volsync/images/internal/stunnel"
)

// Client pushes the data directory to the destination.
type Client struct {
	cfg   ClientConfig
	log   *rsync.Logger
	tools Tools
	tmp   string
	env   []string
}

// RunClient runs the source side once and returns its result.
func RunClient(ctx context.Context, cfg ClientConfig, logger *rsync.Logger) rsync.Outcome {
	start := time.Now()
	c := &Client{cfg: cfg, log: logger}
	stats, err := c.run(ctx)
	return rsync.Outcome{Result: rsync.NewResult(start, stats, err, logger)}
}

func (c *Client) run(ctx context.Context) (rsync.Stats, error) {
	if err := rsync.CheckDataDir(c.cfg.DataDir); err != nil {
		return rsync.Stats{}, err
	}
	psks, err := stunnel.ParsePSKFile(c.cfg.KeyFile)
	if err != nil {
		return rsync.Stats{}, err
	}
	if c.tools, err = FindTools(ctx); err != nil {
		return rsync.Stats{}, err
	}
	if c.tmp, err = rsync.PrivateDir("rsync-tls-client-"); err != nil {
		return rsync.Stats{}, err
	}
	defer func() { _ = os.RemoveAll(c.tmp) }()
	if err := c.writeConfig(psks); err != nil {
		return rsync.Stats{}, err
	}
	c.log.Printf("Source: syncing %s to %s (privileged=%t, acls=%t, xattrs=%t)", c.cfg.DataDir, c.cfg.Destination, c.cfg.Privileged, c.tools.ACLs, c.tools.Xattrs)

	retrier := rsync.Retrier{Destination: c.cfg.Destination.String(), Delay: c.cfg.RetryDelay, Log: c.log}
	var stats rsync.Stats
	err = retrier.Do(ctx, "sync", func() error {
		var err error
		stats, err = c.syncData(ctx)
		return err
	})
	if err != nil {
		return rsync.Stats{}, err
	}
	c.log.Printf("Data synchronized; notifying the destination")
	err = retrier.Do(ctx, "completion notice", func() error { return c.sendDone(ctx, stats) })
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
		Connect:     c.cfg.Destination.HostPort(),
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
	prog := "exec " + rsync.ShQuote(c.tools.Stunnel) + " " + rsync.ShQuote(conf) + " 2>>" + rsync.ShQuote(c.stunnelErr())
	c.env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "RSYNC_CONNECT_PROG=" + prog}
	return nil
}

func (c *Client) stunnelLog() string { return filepath.Join(c.tmp, "stunnel-client.log") }
func (c *Client) stunnelErr() string { return filepath.Join(c.tmp, "stunnel-client.err") }

func (c *Client) syncData(ctx context.Context) (rsync.Stats, error) {
	if err := c.resetStunnelLogs(); err != nil {
		return rsync.Stats{}, err
	}
	args := clientArgs(c.tools, c.cfg.Privileged, c.cfg.Debug, c.cfg.DataDir)
	t, err := rsync.Push(ctx, c.tools.Rsync, args, c.env, c.cfg.Debug, c.log)
	if err != nil {
		return t.Stats, err
	}
	if !t.OK {
		return t.Stats, c.classify(t)
	}
	return t.Stats, nil
}

func (c *Client) sendDone(ctx context.Context, stats rsync.Stats) error {
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
	if err := c.resetStunnelLogs(); err != nil {
		return err
	}
	args := []string{"--timeout=" + fmt.Sprint(int(rsync.IOTimeout.Seconds())), marker, moduleURL(ControlModule)}
	errLines, rc, err := rsync.Exec(ctx, c.tools.Rsync, args, c.env, c.log, nil)
	if err != nil {
		return err
	}
	if rc != 0 {
		return c.classify(rsync.Transfer{RC: rc, ErrLines: errLines})
	}
	return nil
}

// resetStunnelLogs empties stunnel's logs before a connection, so classify sees only its own.
func (c *Client) resetStunnelLogs() error {
	for _, f := range []string{c.stunnelLog(), c.stunnelErr()} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			return fmt.Errorf("resetting %s: %w", f, err)
		}
	}
	return nil
}

// classify turns a failed rsync into a failure, looking first at what stunnel saw.
func (c *Client) classify(t rsync.Transfer) error {
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
	dest := c.cfg.Destination.String()
	unreadable := t.Unreadable(c.cfg.DataDir)
	switch {
	case tlsFailed != "":
		return &rsync.Failure{Reason: fmt.Sprintf("TLS handshake with %s failed: PSK mismatch? (%s)", dest, tlsAlert(tlsFailed))}
	case configFailed != "":
		return &rsync.Failure{Reason: "stunnel client failed: " + configFailed}
	case connectFailed != "":
		return &rsync.Failure{Reason: connectCause(connectFailed), Transient: true, Unreachable: true}
	case unreadable != "":
		return &rsync.Failure{Reason: unreadable}
	case rsync.TransientExit(t.RC):
		return &rsync.Failure{Reason: fmt.Sprintf("connection to %s failed (rsync exit %d: %s)", dest, t.RC, rsync.LastError(t.ErrLines)), Transient: true}
	default:
		return &rsync.Failure{Reason: fmt.Sprintf("rsync exit %d: %s", t.RC, rsync.LastError(t.ErrLines))}
	}
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
