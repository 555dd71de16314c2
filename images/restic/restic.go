package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/moverlog"
	"github.com/volsync-go/volsync/images/internal/proc"
)

// restic's exit codes (restic 0.18, cmd/restic/main.go).
const (
	rcFatal        = 1
	rcIncomplete   = 3 // backup: some source data could not be read
	rcNoRepository = 10
	rcLocked       = 11
	rcWrongKey     = 12
)

// keepErrors bounds the error messages of one restic run kept to explain a failure.
const keepErrors = 200

// Restic runs the restic binary with the mover's settings and reads its JSON output.
type Restic struct {
	Bin string
	Env []string
	// Args come before every command's own: JSON output, cache, CA.
	Args []string
	Log  *moverlog.Logger
	// OpenTimeout bounds how long restic may retry reaching the repository before it has
	// opened it (Config.OpenTimeout).
	OpenTimeout time.Duration
	// ProgressInterval is the least time between two progress lines (Config.ProgressInterval).
	ProgressInterval time.Duration
}

// NewRestic finds restic in PATH and builds the arguments every run shares.
func NewRestic(c Config, log *moverlog.Logger) (*Restic, error) {
	bin, err := exec.LookPath("restic")
	if err != nil {
		return nil, fmt.Errorf("restic not found in PATH: %w", err)
	}
	args := []string{"--json", "--cache-dir", c.CacheDir}
	if c.CustomCA != "" {
		args = append(args, "--cacert", c.CustomCA)
	}
	return &Restic{Bin: bin, Env: c.Env, Args: args, Log: log, OpenTimeout: c.OpenTimeout, ProgressInterval: c.ProgressInterval}, nil
}

// Call is one restic command.
type Call struct {
	// Args are the command and its arguments.
	Args []string
	// Dir is its working directory ("": the mover's).
	Dir string
	// Quiet keeps its plain stdout (listings) out of the log.
	Quiet bool
	// Abort, when set, stops restic at the first message it returns true for (a problem that
	// restic's backend retries for up to 15 minutes but that cannot go away by itself).
	Abort func(msg string) bool
	// Progress, when set, names the command in the log: "<Progress>: started (restic pid N)"
	// and, at most every Restic.ProgressInterval, its progress. Unset: progress is not logged.
	Progress string
}

// Run is the outcome of one restic command.
type Run struct {
	// RC is restic's exit code (-1: killed).
	RC int
	// Exit is the message of restic's exit error ("" on success).
	Exit string
	// Errors are restic's error messages and warnings ("item: message"), at most keepErrors.
	Errors []string
	// Items are the paths of the items restic reported errors for.
	Items []string
	// Summary is the raw JSON of restic's summary message (backup, restore).
	Summary json.RawMessage
	// Stdout is its plain (not a JSON message) output: listings.
	Stdout []string
	// Aborted is the message that made the mover stop restic (Call.Abort, an untrusted
	// certificate, refused credentials, or the repository still not opened after
	// Restic.OpenTimeout).
	Aborted string
	// NotOpened is set when the mover stopped restic because it was still retrying to open
	// the repository after Restic.OpenTimeout.
	NotOpened time.Duration
	// Denied are the items restic could not write, create or delete (permission denied,
	// operation not permitted), at most keepErrors.
	Denied []Denied
	// lastProgress is when the last progress line was logged, progressLine that line.
	lastProgress time.Time
	progressLine string
}

// Denied is a path restic was refused access to, and how.
type Denied struct {
	// Path is absolute (restic's message) or the snapshot's item.
	Path string
	// Cause is the operation and the error, e.g. "unlinkat: permission denied".
	Cause string
}

// message is one of restic's JSON messages.
type message struct {
	MessageType string `json:"message_type"`
	Message     string `json:"message"`
	Code        int    `json:"code"`
	Error       *struct {
		Message string `json:"message"`
	} `json:"error"`
	During string `json:"during"`
	Item   string `json:"item"`
}

// status is restic's progress message (backup and restore name their counts differently).
type status struct {
	PercentDone   float64  `json:"percent_done"`
	TotalFiles    int64    `json:"total_files"`
	FilesDone     int64    `json:"files_done"`
	FilesRestored int64    `json:"files_restored"`
	FilesSkipped  int64    `json:"files_skipped"`
	TotalBytes    int64    `json:"total_bytes"`
	BytesDone     int64    `json:"bytes_done"`
	BytesRestored int64    `json:"bytes_restored"`
	BytesSkipped  int64    `json:"bytes_skipped"`
	CurrentFiles  []string `json:"current_files"`
}

// statusPrefix starts every status message of restic's: the mover skips those it does not
// log without decoding them.
const statusPrefix = `{"message_type":"status"`

// deniedMsg matches an error of restic's about a file it may not write, create or delete,
// e.g. "unlinkat /data/dir/file: permission denied", "chmod /data/file: operation not
// permitted": the operation, the path, the error.
var deniedMsg = regexp.MustCompile(`(?:^|\s)([a-z]+) (/.*?): (permission denied|operation not permitted)\s*$`)

// openingRetry matches restic's backend retrying a file it reads to open the repository (the
// config and the keys), e.g. `Stat(<config/>) returned error, retrying after 1.2s: ...`.
var openingRetry = regexp.MustCompile(`^\w+\(<?(config|key)\b.*returned error, retrying`)

// Exec runs one restic command. err is set only when restic did not run or the mover is being
// stopped; a failed command is a Run with a non-zero RC.
//
// restic's backend retries failed requests for up to 15 minutes. Exec stops restic at once on
// an untrusted certificate or refused credentials, at the first message c.Abort returns true
// for, and when restic is still retrying to open the repository (its config or keys, nothing
// on stdout yet) after OpenTimeout: the repository does not answer.
func (r *Restic) Exec(ctx context.Context, c Call) (*Run, error) {
	run := &Run{}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.Command(r.Bin, append(append([]string{}, r.Args...), c.Args...)...)
	cmd.Env, cmd.Dir = r.Env, c.Dir
	var mu sync.Mutex
	start, opened, retrying := time.Now(), false, ""
	abort := func(msg string) {
		if run.Aborted == "" {
			run.Aborted = msg
			cancel()
		}
	}
	notOpened := func() {
		if !opened && retrying != "" && time.Since(start) >= r.OpenTimeout {
			run.NotOpened = r.OpenTimeout
			abort(retrying)
		}
	}
	timer := time.AfterFunc(r.OpenTimeout, func() {
		mu.Lock()
		defer mu.Unlock()
		notOpened()
	})
	line := func(stdout bool) func(string) {
		return func(l string) {
			mu.Lock()
			defer mu.Unlock()
			msg := r.line(run, c, l)
			switch {
			case stdout:
				opened = true
			case openingRetry.MatchString(l):
				retrying = l
			case strings.Contains(l, "returned error, retrying"):
				opened = true // retrying another file: the repository is open
			}
			if msg != "" && (permanent(msg) || c.Abort != nil && c.Abort(msg)) {
				abort(msg)
			}
			notOpened()
		}
	}
	p, err := proc.Start(runCtx, cmd, line(true), line(false))
	if err != nil {
		timer.Stop()
		return run, fmt.Errorf("running restic: %w", err)
	}
	if c.Progress != "" {
		r.Log.Printf("%s: started (restic pid %d)", c.Progress, p.Pid())
	}
	rc, err := p.Wait()
	timer.Stop()
	mu.Lock()
	defer mu.Unlock()
	run.RC = rc
	if ctx.Err() != nil {
		return run, ctx.Err()
	}
	if err != nil && rc == -1 && run.Aborted == "" {
		return run, fmt.Errorf("running restic: %w", err)
	}
	return run, nil
}

// line handles one line of restic's output: it logs it and keeps what the mover needs. It
// returns the error message the line carries, if any.
func (r *Restic) line(run *Run, c Call, l string) string {
	if strings.HasPrefix(l, statusPrefix) {
		r.progress(run, c, l)
		return ""
	}
	var m message
	if !strings.HasPrefix(l, "{") || json.Unmarshal([]byte(l), &m) != nil || m.MessageType == "" {
		if strings.Contains(l, "returned error, retrying") || strings.HasPrefix(l, "Warning:") ||
			strings.HasPrefix(l, "Fatal:") || strings.Contains(l, "error") {
			r.Log.Printf("restic: %s", l)
			run.addError(l)
			return l
		}
		if len(run.Stdout) < 1<<20 {
			run.Stdout = append(run.Stdout, l)
		}
		if !c.Quiet {
			r.Log.Printf("restic: %s", l)
		}
		return ""
	}
	switch m.MessageType {
	case "status":
		r.progress(run, c, l)
	case "summary":
		run.Summary = json.RawMessage(l)
	case "exit_error":
		run.Exit = strings.TrimSpace(m.Message)
		r.Log.Printf("restic: exit %d: %s", m.Code, oneLine(run.Exit))
		return run.Exit
	case "error":
		msg := ""
		if m.Error != nil {
			msg = m.Error.Message
		}
		if m.Item != "" {
			msg = m.Item + ": " + msg
			if len(run.Items) < keepErrors {
				run.Items = append(run.Items, m.Item)
			}
		}
		r.Log.Printf("restic: error during %s: %s", m.During, oneLine(msg))
		run.addError(msg)
		if m.Error != nil {
			run.addDenied(m.Item, m.Error.Message)
		}
		return msg
	case "verbose_status":
	default:
		if !c.Quiet {
			r.Log.Printf("restic: %s", l)
		}
	}
	return ""
}

// progress logs a status message of restic's as one line, at most every ProgressInterval
// (restic prints them at that rate too: Config.Env); the others are not decoded.
func (r *Restic) progress(run *Run, c Call, l string) {
	// restic's ticks are ProgressInterval apart: a little slack keeps every one of them.
	if c.Progress == "" || time.Since(run.lastProgress) < r.ProgressInterval*9/10 {
		return
	}
	var s status
	if json.Unmarshal([]byte(l), &s) != nil {
		return
	}
	files, bytes := s.FilesDone, s.BytesDone
	if files == 0 && bytes == 0 { // restore
		files, bytes = s.FilesRestored+s.FilesSkipped, s.BytesRestored+s.BytesSkipped
	}
	current := ""
	if n := len(s.CurrentFiles); n > 0 {
		current = fmt.Sprintf(", %d in progress", n)
	}
	line := fmt.Sprintf("%s: %.0f%% (%d/%d files, %s/%s%s)", c.Progress, 100*s.PercentDone, files, s.TotalFiles,
		result.FormatBytes(bytes, 1), result.FormatBytes(s.TotalBytes, 1), current)
	if line == run.progressLine { // restic repeats its last status at the end
		return
	}
	run.lastProgress, run.progressLine = time.Now(), line
	r.Log.Printf("%s", line)
}

// addDenied keeps the path of an error message about a file restic may not write, create or
// delete; item is the snapshot's item the message is about.
func (run *Run) addDenied(item, msg string) {
	if len(run.Denied) >= keepErrors {
		return
	}
	if m := deniedMsg.FindStringSubmatch(msg); m != nil {
		run.Denied = append(run.Denied, Denied{Path: m[2], Cause: m[1] + ": " + m[3]})
	} else if item != "" && (strings.Contains(msg, "permission denied") || strings.Contains(msg, "operation not permitted")) {
		run.Denied = append(run.Denied, Denied{Path: item, Cause: clip(msg)})
	}
}

func (run *Run) addError(msg string) {
	if len(run.Errors) < keepErrors {
		run.Errors = append(run.Errors, msg)
	}
}

// all is every message of the run, for classification.
func (run *Run) all() string {
	return run.Exit + "\n" + strings.Join(run.Errors, "\n")
}

// lastError is the run's own word on its failure: the first line of its exit message, else
// its last error message.
func (run *Run) lastError() string {
	if run.Exit != "" {
		return oneLine(strings.SplitN(run.Exit, "\n", 2)[0])
	}
	if n := len(run.Errors); n > 0 {
		return oneLine(run.Errors[n-1])
	}
	return fmt.Sprintf("restic exit %d", run.RC)
}

// oneLine joins a multi-line message.
var oneLine = moverlog.OneLine
