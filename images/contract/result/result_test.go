package result

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	want := Result{Outcome: OutcomeSuccessful, BytesSent: 1234, FilesTransferred: 7, DurationSeconds: 1.5}
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"outcome":"Successful","bytesSent":1234,"filesTransferred":7,"durationSeconds":1.5}` {
		t.Fatalf("unexpected JSON %s", got)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestMarshalKeepsLimitAndOneLine(t *testing.T) {
	cases := map[string]string{
		"long ascii":   strings.Repeat("x", 10*MaxBytes),
		"long escaped": strings.Repeat("\"<>&\x01", 3*MaxBytes),
		"long utf8":    strings.Repeat("é", 3*MaxBytes),
		"multi line":   "first line\nsecond line",
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := Result{Outcome: OutcomeFailed, Error: msg}.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxBytes {
				t.Fatalf("%d bytes, limit %d", len(b), MaxBytes)
			}
			r, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(r.Error, "\r\n") {
				t.Fatalf("error has several lines: %q", r.Error)
			}
			if r.Outcome != OutcomeFailed || r.Error == "" {
				t.Fatalf("lost fields: %+v", r)
			}
		})
	}
}

func TestParseRejectsOversized(t *testing.T) {
	if _, err := Parse(make([]byte, MaxBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

// TestDetailsRoundTripAndNeverOverflow: mover-specific details travel with the result, and a
// result with oversized details still fits the termination message (details dropped first,
// never the numbers).
func TestDetailsRoundTripAndNeverOverflow(t *testing.T) {
	r := Result{Outcome: OutcomeSuccessful, BytesSent: 7, FilesTransferred: 2, Details: map[string]string{"snapshotID": "abc123"}}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil || back.Details["snapshotID"] != "abc123" || back.BytesSent != 7 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	big := Result{Outcome: OutcomeFailed, BytesSent: 9, Error: "x", Details: map[string]string{"k": string(make([]byte, 2*MaxBytes))}}
	b, err = big.Marshal()
	if err != nil || len(b) > MaxBytes {
		t.Fatalf("oversized details: %d bytes, %v", len(b), err)
	}
	if back, _ = Parse(b); back.BytesSent != 9 || back.Outcome != OutcomeFailed {
		t.Fatalf("the numbers must survive: %+v", back)
	}
}

// TestSummaryDroppedFirst: a summary that does not fit goes before the details and the
// numbers; one that fits travels.
func TestSummaryDroppedFirst(t *testing.T) {
	r := Result{Outcome: OutcomeSuccessful, FilesTransferred: 3, Details: map[string]string{"checks": "4"},
		Summary: "Transferred: 3 / 3, 100%\nRclone completed in 2s"}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := Parse(b); back.Summary != r.Summary || back.Details["checks"] != "4" {
		t.Fatalf("lost: %+v", back)
	}
	r.Summary = strings.Repeat("Transferred: x\n", MaxBytes)
	b, err = r.Marshal()
	if err != nil || len(b) > MaxBytes {
		t.Fatalf("oversized summary: %d bytes, %v", len(b), err)
	}
	if back, _ := Parse(b); back.Summary != "" || back.Details["checks"] != "4" || back.FilesTransferred != 3 {
		t.Fatalf("the summary must go first, the rest stay: %+v", back)
	}
}
