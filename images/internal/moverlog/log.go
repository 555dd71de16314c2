package moverlog

import (
	"fmt"
	"io"
	"log"
	"sync"
)

// Logger writes the mover's progress lines to stdout (stderr is kept for the failure reason),
// with secrets masked.
type Logger struct {
	mu     sync.Mutex
	w      io.Writer
	l      *log.Logger
	redact *Redactor
}

// NewLogger logs to w with UTC timestamps, masking what r knows.
func NewLogger(w io.Writer, r *Redactor) *Logger {
	return &Logger{w: w, l: log.New(w, "", log.Ldate|log.Ltime|log.LUTC), redact: r}
}

// Printf logs one line with a timestamp.
func (l *Logger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l.Print(l.redact.Mask(fmt.Sprintf(format, args...)))
}

// Summary prints one line without a timestamp: the summary lines users' log filters look for
// start with their keyword ("Transferred:", "Rclone completed in").
func (l *Logger) Summary(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintln(l.w, l.redact.Mask(fmt.Sprintf(format, args...)))
}
