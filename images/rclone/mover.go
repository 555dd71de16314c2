package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/moverlog"
)

// Exit codes.
const (
	ExitOK     = 0 // success, or nothing to do yet (result Waiting)
	ExitFailed = 1
	ExitUsage  = 2 // configuration error: nothing was done
)

// lostFound is the filesystem's directory at the top of a volume: never replicated, never
// removed from a destination.
const lostFound = "lost+found"

// Main runs the mover with its environment until it ends or SIGTERM/SIGINT ends it, writes the
// JSON result (on every exit) and prints the reason of a failure as the only line on stderr. It
// returns the exit code.
func Main(getenv func(string) string, environ []string, stdout, stderr io.Writer) int {
	redact := NewRedactor(orDefault(getenv(rclone.EnvConfig), rclone.ConfigDir+"/"+rclone.ConfigKey), environ)
	log := moverlog.NewLogger(stdout, redact)
	fin := moverlog.NewFinisher(getenv, redact, log, stderr)
	finish := fin.Finish
	cfg, err := LoadConfig(getenv, environ)
	if err != nil {
		return finish(result.Result{Outcome: result.OutcomeFailed, Error: err.Error()}, ExitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	m := &job{cfg: cfg, log: log}
	r, err := m.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("terminated: %w", err)
		}
		r.Outcome, r.Error = result.OutcomeFailed, err.Error()
		log.Printf("Synchronization failed: %s", redact.Mask(r.Error))
		return finish(r, ExitFailed)
	}
	r.Summary = m.summary(r, time.Since(fin.Start))
	return finish(r, ExitOK)
}

// job is one run's state.
type job struct {
	cfg    Config
	log    *moverlog.Logger
	rclone *Rclone
	tmp    string
}

// run checks the configuration and runs the direction's side. A run that cannot start has no
// numbers; one that failed later reports what it moved.
func (m *job) run(ctx context.Context) (result.Result, error) {
	c := m.cfg
	m.log.Printf("%s: %s %s (section %q, privileged=%t)", c.Direction, c.DataDir, arrow(c.Direction), c.Remote(), c.Privileged)
	if c.PrivilegedIgnored {
		m.log.Printf("PRIVILEGED_MOVER is set but the mover does not run as root (uid %d): ownership is not kept", os.Geteuid())
	}
	if err := preflight(c); err != nil {
		return result.Result{}, err
	}
	if err := checkTLS(ctx, c); err != nil {
		return result.Result{}, err
	}
	var err error
	if m.tmp, err = privateDir(); err != nil {
		return result.Result{}, err
	}
	defer func() { _ = os.RemoveAll(m.tmp) }()
	if m.rclone, err = NewRclone(c, m.tmp+"/cache", m.log); err != nil {
		return result.Result{}, err
	}
	if c.Direction == rclone.DirectionSource {
		return m.source(ctx)
	}
	return m.destination(ctx)
}

func arrow(direction string) string {
	if direction == rclone.DirectionSource {
		return "->"
	}
	return "<-"
}

// filters are rclone's exclusions on both sides: the volume's lost+found and the manifest.
func filters() []string {
	return []string{"--exclude", "/" + lostFound + "/**", "--exclude", "/" + rclone.Manifest}
}

// syncArgs are the arguments of the data sync from src to dst: regular files only (the
// manifest carries the rest), no other filesystem. A remote directory ends with "/": rclone
// then lists it at once instead of first checking whether it is a file, which hides why a
// request failed (refused credentials) behind "is a file not a directory".
func syncArgs(src, dst string) []string {
	args := []string{"sync", src, dst, "--skip-links", "--one-file-system", "--no-update-dir-modtime"}
	return append(args, filters()...)
}

// newResult is a successful result with rclone's numbers.
func newResult(bytes, files, checks, deletes int64, entries int) result.Result {
	return result.Result{
		Outcome:          result.OutcomeSuccessful,
		BytesSent:        bytes,
		FilesTransferred: files,
		Details: map[string]string{
			rclone.DetailChecks:  strconv.FormatInt(checks, 10),
			rclone.DetailDeletes: strconv.FormatInt(deletes, 10),
			rclone.DetailEntries: strconv.Itoa(entries),
		},
	}
}

// summary prints the lines the reference's log filter keeps of a successful run
// (^Transferred:, ^Checks:, ^Deleted:, ^Elapsed time:, ^Rclone completed in) and returns them
// for the result (latestMoverStatus.logs shows them, as the reference's did).
func (m *job) summary(r result.Result, elapsed time.Duration) string {
	if r.Outcome != result.OutcomeSuccessful {
		return ""
	}
	lines := []string{
		fmt.Sprintf("Transferred:   %s, %d files", humanBytes(r.BytesSent), r.FilesTransferred),
		fmt.Sprintf("Checks:        %s", r.Details[rclone.DetailChecks]),
		fmt.Sprintf("Deleted:       %s (files, directories and symlinks)", r.Details[rclone.DetailDeletes]),
		fmt.Sprintf("Elapsed time:  %.1fs", elapsed.Seconds()),
		fmt.Sprintf("Rclone completed in %ds", int(elapsed.Round(time.Second).Seconds())),
	}
	for _, l := range lines {
		m.log.Summary("%s", l)
	}
	return strings.Join(lines, "\n")
}
