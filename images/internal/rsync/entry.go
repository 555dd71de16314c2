package rsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/volsync-go/volsync/images/contract/result"
)

// Exit codes of an entrypoint.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// Mode is one mode of an entrypoint. It returns a configuration error (exit ExitUsage, nothing
// was done) or its result (exit ExitOK or ExitFailed, unless the result sets ExitCode).
type Mode func(ctx context.Context, getenv func(string) string, log *Logger) (Outcome, error)

// Outcome is what a mode ends with.
type Outcome struct {
	result.Result
	// ExitCode overrides the exit code a result implies (a destination told to exit with a code).
	ExitCode *int
}

// Main runs the mode named by args (the only argument) until it ends or SIGTERM/SIGINT ends it,
// writes the JSON result (on every exit) and prints the reason of a failure as the only line on
// stderr. It returns the exit code.
func Main(name string, modes map[string]Mode, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	log := NewLogger(stdout)
	resultPath := OrDefault(getenv(result.PathEnv), result.DefaultPath)
	names := make([]string, 0, len(modes))
	for m := range modes {
		names = append(names, m)
	}
	sort.Strings(names)
	usage := "usage: " + name + " " + strings.Join(names, "|")
	finish := func(o Outcome, code int) int {
		if err := result.Write(resultPath, o.Result); err != nil {
			log.Printf("Could not write the result: %v", err)
		}
		if !o.Succeeded() {
			_, _ = fmt.Fprintln(stderr, oneLine(o.Error))
		}
		if o.ExitCode != nil {
			return *o.ExitCode
		}
		return code
	}
	fail := func(code int, err error) int {
		return finish(Outcome{Result: result.Result{Outcome: result.OutcomeFailed, Error: err.Error()}}, code)
	}
	if len(args) != 1 {
		return fail(ExitUsage, errors.New(usage))
	}
	mode, ok := modes[args[0]]
	if !ok {
		return fail(ExitUsage, fmt.Errorf("unknown mode %q; %s", args[0], usage))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	o, err := mode(ctx, getenv, log)
	if err != nil {
		return fail(ExitUsage, err)
	}
	if !o.Succeeded() {
		return finish(o, ExitFailed)
	}
	return finish(o, ExitOK)
}

// NewMode is a mode that loads its configuration with load and runs run.
func NewMode[C any](load func(getenv func(string) string) (C, error), run func(context.Context, C, *Logger) Outcome) Mode {
	return func(ctx context.Context, getenv func(string) string, log *Logger) (Outcome, error) {
		cfg, err := load(getenv)
		if err != nil {
			return Outcome{}, err
		}
		return run(ctx, cfg, log), nil
	}
}

// NewResult is the result of a run that started at start and moved what stats counts (a
// destination: what its source sent), logging its end.
func NewResult(start time.Time, stats Stats, err error, log *Logger) result.Result {
	r := result.Result{
		Outcome:          result.OutcomeSuccessful,
		BytesSent:        stats.BytesSent,
		FilesTransferred: stats.FilesTransferred,
		DurationSeconds:  time.Since(start).Seconds(),
	}
	if err != nil {
		r.Outcome = result.OutcomeFailed
		r.Error = err.Error()
		log.Printf("Synchronization failed: %s", r.Error)
	} else {
		log.Printf("Synchronization completed in %.1fs: %d bytes sent, %d files transferred", r.DurationSeconds, r.BytesSent, r.FilesTransferred)
	}
	return r
}

func oneLine(s string) string {
	for i, c := range s {
		if c == '\n' || c == '\r' {
			return s[:i]
		}
	}
	return s
}
