package rsync

import (
	"io"
	"log"
)

// Logger writes the mover's progress lines (to stdout: stderr is kept for the failure reason).
type Logger struct{ l *log.Logger }

// NewLogger logs to w with UTC timestamps.
func NewLogger(w io.Writer) *Logger {
	return &Logger{l: log.New(w, "", log.Ldate|log.Ltime|log.LUTC)}
}

// Printf logs one line.
func (l *Logger) Printf(format string, args ...any) { l.l.Printf(format, args...) }
