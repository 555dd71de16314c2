package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/internal/moverlog"
)

// TestProgressLines: restic's status messages become one concise line, at most every
// ProgressInterval, without repeats; a command without Progress logs none.
func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	r := &Restic{Log: moverlog.NewLogger(&buf, nil), ProgressInterval: time.Hour}
	run := &Run{}
	backup := `{"message_type":"status","percent_done":0.42,"total_files":30000,"files_done":12345,"total_bytes":3113851290,"bytes_done":1288490189,"current_files":["/a","/b"]}`
	r.line(run, Call{Progress: "backup"}, backup)
	r.line(run, Call{Progress: "backup"}, strings.Replace(backup, "0.42", "0.43", 1)) // within the interval
	r.line(&Run{}, Call{}, backup)                                                    // no Progress
	restore := `{"message_type":"status","percent_done":0.5,"total_files":4,"files_restored":1,"files_skipped":1,"total_bytes":2048,"bytes_restored":1024}`
	r.ProgressInterval = 0
	run2 := &Run{}
	r.line(run2, Call{Progress: "restore"}, restore)
	r.line(run2, Call{Progress: "restore"}, restore) // a repeat
	got := buf.String()
	for _, want := range []string{"backup: 42% (12345/30000 files, 1.2 GiB/2.9 GiB, 2 in progress)\n", "restore: 50% (2/4 files, 1.0 KiB/2.0 KiB)\n"} {
		if strings.Count(got, want) != 1 {
			t.Errorf("want one %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 2 {
		t.Errorf("%d lines, want 2:\n%s", n, got)
	}
}

// TestDenied: restic's error messages about files it may not change name their paths.
func TestDenied(t *testing.T) {
	m := &job{cfg: Config{DataDir: "/data"}}
	run := &Run{}
	run.addDenied("/", "unlinkat /data/rootdir/file: permission denied")
	run.addDenied("/shared/file", "chmod /data/shared/file: operation not permitted")
	run.addDenied("/x", "open /repo/data/ab/abcd: permission denied")
	run.addDenied("/y", "some other error")
	got := strings.Join(m.deniedInVolume(run), ", ")
	if want := "rootdir/file (unlinkat: permission denied), shared/file (chmod: operation not permitted)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
