package moverlog

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/result"
)

// Finisher writes a mover's result (images/contract/result) when it ends, on every exit.
type Finisher struct {
	// Path is the result file: $TERMINATION_LOG (getenv) or result.DefaultPath.
	Path  string
	Start time.Time
	// Redact masks the error; Log reports a result that could not be written.
	Redact *Redactor
	Log    *Logger
	// Stderr gets a failure's reason, as its only line.
	Stderr io.Writer
}

// NewFinisher starts a run's clock now.
func NewFinisher(getenv func(string) string, redact *Redactor, log *Logger, stderr io.Writer) *Finisher {
	path := getenv(result.PathEnv)
	if path == "" {
		path = result.DefaultPath
	}
	return &Finisher{Path: path, Start: time.Now(), Redact: redact, Log: log, Stderr: stderr}
}

// Finish writes r with its error masked and the run's duration, prints a failure's reason as
// the one line on stderr, and returns code (the mover's exit code).
func (f *Finisher) Finish(r result.Result, code int) int {
	r.Error = f.Redact.Mask(r.Error)
	r.DurationSeconds = time.Since(f.Start).Seconds()
	if err := result.Write(f.Path, r); err != nil {
		f.Log.Printf("Could not write the result: %v", err)
	}
	if r.Outcome == result.OutcomeFailed {
		_, _ = fmt.Fprintln(f.Stderr, OneLine(r.Error))
	}
	return code
}

// OneLine joins a multi-line message into one line, its runs of white space folded.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
