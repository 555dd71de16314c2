package proc

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

func TestRunLinesAndExitCode(t *testing.T) {
	var mu sync.Mutex
	var out, errs []string
	rc, err := Run(context.Background(), exec.Command("sh", "-c", "echo one; echo two >&2; echo three; exit 3"),
		func(l string) { mu.Lock(); out = append(out, l); mu.Unlock() },
		func(l string) { mu.Lock(); errs = append(errs, l); mu.Unlock() })
	if rc != 3 || err == nil {
		t.Fatalf("rc %d err %v", rc, err)
	}
	if len(out) != 2 || out[0] != "one" || out[1] != "three" || len(errs) != 1 || errs[0] != "two" {
		t.Fatalf("stdout %q stderr %q", out, errs)
	}
}

func TestCancelStopsProcessGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	// The grandchild must go too: it holds the output pipe.
	p, err := Start(ctx, exec.Command("sh", "-c", "sleep 600 & sleep 600"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := GroupSize(p.Pid())
		if err != nil {
			t.Fatal(err)
		}
		if n >= 2 { // sh (or the exec'd sleep) and the background sleep
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group size %d", n)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	cancel()
	select {
	case <-p.Done():
	case <-time.After(StopGrace + 5*time.Second):
		t.Fatal("process group still running")
	}
	if rc, _ := p.Wait(); rc != -1 {
		t.Fatalf("rc %d, want -1 (signalled)", rc)
	}
}

func TestSyncFS(t *testing.T) {
	if err := SyncFS(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := SyncFS("/nonexistent/path"); !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("got %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
