package moverlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/contract/result"
)

// TestFinish: a failure's result has its secrets masked and a duration; its reason is the one
// line on stderr; the exit code is passed through.
func TestFinish(t *testing.T) {
	path := filepath.Join(t.TempDir(), "result")
	var s Secrets
	s.Add("RESTIC_PASSWORD", "hunter2-secret")
	redact := NewRedactor(s)
	var stdout, stderr bytes.Buffer
	f := NewFinisher(func(k string) string { return map[string]string{result.PathEnv: path}[k] }, redact, NewLogger(&stdout, redact), &stderr)
	if code := f.Finish(result.Result{Outcome: result.OutcomeFailed, Error: "failed:\n  bad password hunter2-secret"}, 3); code != 3 {
		t.Fatalf("code %d", code)
	}
	if got := stderr.String(); got != "failed: bad password ***\n" {
		t.Fatalf("stderr %q", got)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := result.Parse(b)
	if err != nil || strings.Contains(string(b), "hunter2") || r.DurationSeconds <= 0 || r.Outcome != result.OutcomeFailed {
		t.Fatalf("result %s: %+v %v", b, r, err)
	}
}
