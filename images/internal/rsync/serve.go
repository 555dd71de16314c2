package rsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/volsync-go/volsync/images/internal/proc"
)

// ErrTerminated is why a destination stopped before its source finished (SIGTERM).
var ErrTerminated = errors.New("terminated before the source finished")

// Serve is a destination's wait: its daemon (stunnel, sshd) runs until the source says it has
// finished, then until the connections it serves have ended.
type Serve struct {
	// Daemon is the running daemon; Name names it in errors.
	Daemon *proc.Process
	Name   string
	// DaemonError is why the daemon exited, from its log.
	DaemonError func() string
	// Events wake the wait (the daemon logged something); it also polls every Poll.
	Events <-chan struct{}
	Poll   time.Duration
	// Done reports whether the source has finished.
	Done func() bool
	// Open counts the connections the daemon still reports open (nil: it reports none). The
	// processes of open connections are counted anyway: they stay in the daemon's process group.
	Open func() int
	// Drain bounds the wait for open connections after Done, so a stuck peer cannot keep a
	// finished destination alive.
	Drain time.Duration
	Log   *Logger
}

// Run waits until the source has finished and its connections have ended, and stops the daemon.
// It fails when ctx ends first (ErrTerminated) or the daemon exits.
func (s Serve) Run(ctx context.Context) error {
	stop := func() {
		s.Daemon.Stop()
		_, _ = s.Daemon.Wait()
	}
	var doneAt time.Time
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stop()
			return ErrTerminated
		case <-s.Daemon.Done():
			_, _ = s.Daemon.Wait()
			return fmt.Errorf("%s exited: %s", s.Name, s.DaemonError())
		case <-tick.C:
		case <-s.Events:
		}
		if doneAt.IsZero() {
			if !s.Done() {
				continue
			}
			doneAt = time.Now()
		}
		open := 0
		if s.Open != nil {
			open = s.Open()
		}
		members, err := proc.GroupSize(s.Daemon.Pid())
		if err != nil {
			stop()
			return fmt.Errorf("listing processes: %w", err)
		}
		if open == 0 && members <= 1 {
			break
		}
		if time.Since(doneAt) > s.Drain {
			s.Log.Printf("%d connection(s) and %d process(es) of %s still running %s after the source finished; stopping them", open, members-1, s.Name, s.Drain)
			break
		}
	}
	stop()
	return nil
}
