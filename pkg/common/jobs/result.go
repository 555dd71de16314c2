package jobs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/images/contract/result"
)

// maxLogs bounds latestMoverStatus.logs.
const maxLogs = 1024

// Result is the JSON document a mover writes to its termination message: the contract's
// schema (images/contract/result), which the movers write with the same package.
type Result = result.Result

// ParseResult reads a termination message: the mover's JSON result, or (when the mover died
// before writing one) the log tail Kubernetes put there instead, returned as raw text.
func ParseResult(msg string) (*Result, string) {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return nil, ""
	}
	if strings.HasPrefix(msg, "{") {
		if r, err := result.Parse([]byte(msg)); err == nil && r.Outcome != "" {
			return &r, ""
		}
	}
	return nil, msg
}

// MoverStatus turns a run's outcome into status.latestMoverStatus.
func MoverStatus(succeeded bool, r *Result, raw string) *v1alpha1.MoverStatus {
	st := &v1alpha1.MoverStatus{Result: v1alpha1.MoverResultFailed}
	if succeeded {
		st.Result = v1alpha1.MoverResultSuccessful
	}
	switch {
	case r != nil && r.Error != "":
		st.Logs = r.Error
	case r != nil:
		st.Logs = fmt.Sprintf("%d files transferred, %s sent in %s", r.FilesTransferred, bytesString(r.BytesSent),
			(time.Duration(r.DurationSeconds * float64(time.Second))).Round(time.Millisecond))
		for _, k := range slices.Sorted(maps.Keys(r.Details)) {
			st.Logs += fmt.Sprintf("; %s: %s", k, r.Details[k])
		}
		if r.Summary != "" {
			st.Logs += "\n" + strings.TrimSpace(r.Summary)
		}
	default:
		st.Logs = raw
	}
	st.Logs = tail(st.Logs, maxLogs)
	return st
}

// ErrorText is the one-line reason of a failed run for conditions and events.
func ErrorText(r *Result, raw string) string {
	switch {
	case r != nil && r.Error != "":
		return r.Error
	case raw != "":
		lines := strings.Split(strings.TrimSpace(raw), "\n")
		return tail(lines[len(lines)-1], 256)
	default:
		return "the mover exited without a result"
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func bytesString(n int64) string { return result.FormatBytes(n, 1) }
