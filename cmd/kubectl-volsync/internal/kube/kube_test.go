package kube

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPollerWait(t *testing.T) {
	var out bytes.Buffer
	p := Poller{Interval: time.Millisecond, Progress: &out}
	n := 0
	err := p.Wait(context.Background(), time.Minute, "thing", func(context.Context) (bool, string, error) {
		n++
		switch {
		case n < 3:
			return false, "starting", nil
		case n < 5:
			return false, "", errors.New("transient")
		default:
			return true, "", nil
		}
	})
	if err != nil || n != 5 {
		t.Fatalf("Wait = %v after %d checks", err, n)
	}
	if got := out.String(); got != "waiting for thing: starting\nwaiting for thing: transient\n" {
		t.Errorf("progress (each change once):\n%s", got)
	}

	boom := errors.New("boom")
	if err := p.Wait(context.Background(), time.Minute, "thing", func(context.Context) (bool, string, error) {
		return false, "", Permanent{Err: boom}
	}); !errors.Is(err, boom) {
		t.Errorf("permanent: %v", err)
	}

	err = p.Wait(context.Background(), 20*time.Millisecond, "thing", func(context.Context) (bool, string, error) {
		return false, "still SyncInProgress", nil
	})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "waiting for thing (last: still SyncInProgress)") {
		t.Errorf("timeout: %v", err)
	}
}
