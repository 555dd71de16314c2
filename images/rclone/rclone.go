package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/moverlog"
	"github.com/volsync-go/volsync/images/internal/proc"
)

// keepErrors bounds the error messages of one rclone run kept to explain a failure.
const keepErrors = 200

// Rclone runs the rclone binary with the mover's settings and reads its JSON log.
type Rclone struct {
	Bin string
	Env []string
	// Args come before every command's own: configuration, logging, CA.
	Args []string
	Log  *moverlog.Logger
}

// NewRclone finds rclone in PATH and builds the arguments every run shares. cacheDir is a
// writable directory for rclone's cache (the root filesystem is read-only).
func NewRclone(c Config, cacheDir string, log *moverlog.Logger) (*Rclone, error) {
	bin, err := exec.LookPath("rclone")
	if err != nil {
		return nil, fmt.Errorf("rclone not found in PATH: %w", err)
	}
	args := []string{
		"--config", c.ConfigFile,
		"--cache-dir", cacheDir,
		// The mover reads rclone's log: one JSON object per line on stderr, the statistics as
		// a "stats" field of NOTICE lines.
		"--use-json-log",
		"--stats-log-level", "NOTICE",
		"--log-level", logLevel(c),
	}
	if c.CustomCA != "" {
		args = append(args, "--ca-cert", c.CustomCA)
	}
	return &Rclone{Bin: bin, Env: c.Env, Args: args, Log: log}, nil
}

// logLevel is DEBUG for a debugging mover, the user's RCLONE_LOG_LEVEL when it says more than
// NOTICE, NOTICE otherwise (the statistics are logged at NOTICE).
func logLevel(c Config) string {
	if c.Debug {
		return "DEBUG"
	}
	for _, kv := range c.Env {
		if v, ok := strings.CutPrefix(kv, "RCLONE_LOG_LEVEL="); ok {
			if l := strings.ToUpper(strings.TrimSpace(v)); l == "DEBUG" || l == "INFO" {
				return l
			}
		}
	}
	return "NOTICE"
}

// Stats are rclone's accounting of one run (its "stats" log field).
type Stats struct {
	Bytes       int64   `json:"bytes"`
	Transfers   int64   `json:"transfers"`
	Checks      int64   `json:"checks"`
	Deletes     int64   `json:"deletes"`
	DeletedDirs int64   `json:"deletedDirs"`
	Errors      int64   `json:"errors"`
	ElapsedTime float64 `json:"elapsedTime"`
}

// Run is the outcome of one rclone command.
type Run struct {
	// RC is rclone's exit code (rclone(1) "Exit code").
	RC int
	// Stats are the last statistics rclone logged (its final ones); HasStats says it logged some.
	Stats    Stats
	HasStats bool
	// Errors are its error messages ("object: message"), at most keepErrors.
	Errors []string
	// Stdout is what it printed on stdout (for listings).
	Stdout []string
}

// logLine is one line of rclone's JSON log.
type logLine struct {
	Level  string          `json:"level"`
	Msg    string          `json:"msg"`
	Object string          `json:"object"`
	Stats  json.RawMessage `json:"stats"`
}

// Exec runs rclone with args after the shared ones. err is set only when rclone did not run
// or was stopped; a failed command is a Run with a non-zero RC.
func (r *Rclone) Exec(ctx context.Context, args ...string) (Run, error) {
	var run Run
	cmd := exec.Command(r.Bin, append(append([]string{}, r.Args...), args...)...)
	cmd.Env = r.Env
	rc, err := proc.Run(ctx, cmd, func(line string) {
		if len(run.Stdout) < 1<<20 {
			run.Stdout = append(run.Stdout, line)
		}
	}, func(line string) { r.logLine(&run, line) })
	run.RC = rc
	if err != nil && rc == -1 {
		if ctx.Err() != nil {
			return run, ctx.Err()
		}
		return run, fmt.Errorf("running rclone: %w", err)
	}
	return run, nil
}

// logLine logs one line of rclone's stderr and keeps what the result needs.
func (r *Rclone) logLine(run *Run, line string) {
	var l logLine
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &l) != nil {
		// Not a log line: a usage error, a crash.
		r.Log.Printf("rclone: %s", line)
		run.addError(line)
		return
	}
	msg := strings.TrimSpace(l.Msg)
	if l.Object != "" {
		msg = l.Object + ": " + msg
	}
	if len(l.Stats) > 0 {
		var s Stats
		if json.Unmarshal(l.Stats, &s) == nil {
			run.Stats, run.HasStats = s, true
			r.Log.Printf("rclone: progress: %s, %d files transferred, %d checks, %d deletes, %d errors",
				humanBytes(s.Bytes), s.Transfers, s.Checks, s.Deletes+s.DeletedDirs, s.Errors)
			return
		}
	}
	r.Log.Printf("rclone: %s: %s", strings.ToUpper(l.Level), oneLine(msg))
	switch {
	case l.Level == "error" || l.Level == "critical" || l.Level == "alert" || l.Level == "emergency":
		run.addError(msg)
	case strings.HasPrefix(msg, "Failed to "):
		run.addError(msg) // rclone's final word on a failed command is a NOTICE
	}
}

func (run *Run) addError(msg string) {
	if len(run.Errors) < keepErrors {
		run.Errors = append(run.Errors, msg)
	}
}

// oneLine joins a multi-line message.
var oneLine = moverlog.OneLine

// humanBytes is n in binary units, as rclone prints sizes.
func humanBytes(n int64) string { return result.FormatBytes(n, 3) }

// privateDir makes a directory only this user may enter, in TMPDIR. The caller removes it.
func privateDir() (string, error) {
	dir, err := os.MkdirTemp("", "volsync-rclone-")
	if err != nil {
		return "", fmt.Errorf("creating a temporary directory (is TMPDIR writable?): %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	if err := os.Mkdir(filepath.Join(dir, "cache"), 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}
