package result

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"unicode/utf8"
)

// Outcomes a mover reports.
const (
	OutcomeSuccessful = "Successful"
	OutcomeFailed     = "Failed"
	// OutcomeWaiting: the mover found nothing to do yet and exited cleanly (an rclone
	// destination whose remote path no source has written). Error says what it waits for;
	// the controller reports it, without an error, and runs the mover again after a delay
	// that doubles each time.
	OutcomeWaiting = "Waiting"
)

const (
	// DefaultPath is where Kubernetes reads a container's termination message from.
	DefaultPath = "/dev/termination-log"
	// PathEnv overrides DefaultPath (tests, or a pod with a custom terminationMessagePath).
	PathEnv = "TERMINATION_LOG"
	// MaxBytes is the size Kubernetes keeps of a termination message; a Result never exceeds it.
	MaxBytes = 4096
)

// ErrTooLarge is returned by Parse for a message that no mover could have written.
var ErrTooLarge = errors.New("termination message larger than the Kubernetes limit")

// Result is the outcome of one mover run. The controller turns it into latestMoverStatus and
// metrics. Field names are part of the controller <-> mover contract: add fields, never rename.
type Result struct {
	// Outcome is OutcomeSuccessful or OutcomeFailed.
	Outcome string `json:"outcome"`
	// BytesSent is what the mover sent over the network (for rsync: "Total bytes sent").
	BytesSent int64 `json:"bytesSent"`
	// FilesTransferred counts regular files whose data was (re)sent.
	FilesTransferred int64 `json:"filesTransferred"`
	// DurationSeconds is the mover's wall time.
	DurationSeconds float64 `json:"durationSeconds"`
	// Error is a one-line reason when Outcome is OutcomeFailed, what the mover waits for when
	// it is OutcomeWaiting.
	Error string `json:"error,omitempty"`
	// Details are mover-specific facts, short strings (restic: "snapshotID"); the controller
	// shows them in latestMoverStatus. They are dropped, whole, when the result would not fit.
	Details map[string]string `json:"details,omitempty"`
	// Summary is the mover's own summary in its tool's words, a few lines (rclone's
	// "Transferred:", "Checks:", "Deleted:", "Elapsed time:", "Rclone completed in"), which
	// the reference showed in latestMoverStatus.logs: users' checks look for them. Dropped
	// first when the result would not fit.
	Summary string `json:"summary,omitempty"`
}

// Succeeded reports whether the run succeeded.
func (r Result) Succeeded() bool { return r.Outcome == OutcomeSuccessful }

// Marshal encodes r in at most MaxBytes, shortening Error (never the numbers) when needed.
func (r Result) Marshal() ([]byte, error) {
	r.Error = oneLine(r.Error)
	for {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encoding result: %w", err)
		}
		if len(b) <= MaxBytes {
			return b, nil
		}
		if r.Summary != "" {
			r.Summary = ""
			continue
		}
		if r.Error == "" || r.Error == "..." {
			r.Details = nil // the numbers and the outcome always fit without them
			continue
		}
		over := len(b) - MaxBytes
		// JSON escaping can make the encoded error longer than the string: cut generously.
		r.Error = truncate(r.Error, len(r.Error)-over-len("...")-16) + "..."
	}
}

// Parse decodes a termination message.
func Parse(data []byte) (Result, error) {
	var r Result
	if len(data) > MaxBytes {
		return r, ErrTooLarge
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("decoding result: %w", err)
	}
	return r, nil
}

// Path is the termination message path for this process: $TERMINATION_LOG or DefaultPath.
func Path() string {
	if p := os.Getenv(PathEnv); p != "" {
		return p
	}
	return DefaultPath
}

// Write writes r to path, replacing what was there.
func Write(path string, r Result) error {
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing result to %s: %w", path, err)
	}
	return nil
}

// oneLine keeps the first line of s: reasons are shown in one-line status fields.
func oneLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			return s[:i]
		}
	}
	return s
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
