package rsync

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// MaxAttempts bounds a source's tries when the connection fails for a transient reason.
	MaxAttempts = 5
	// DefaultRetryDelay is the wait after the first failed attempt; it doubles after each one
	// (2s, 4s, 8s, 16s: about 30 s in all before giving up).
	DefaultRetryDelay = 2 * time.Second
)

// Failure is why one attempt failed and whether another attempt may help.
type Failure struct {
	Reason string
	// Transient: another attempt may succeed (network, destination not up yet).
	Transient bool
	// Unreachable: the destination could not be reached at all (reported as such after the
	// last attempt).
	Unreachable bool
}

func (f *Failure) Error() string { return f.Reason }

// Retrier runs an attempt again while it fails transiently, with a doubling delay.
type Retrier struct {
	// Destination names the peer in the final error.
	Destination string
	// Delay is the first wait; it doubles after each attempt.
	Delay time.Duration
	Log   *Logger
	// Sleep waits between attempts (nil: a timer that ctx interrupts).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Do runs fn up to MaxAttempts times while it returns a transient *Failure.
func (r Retrier) Do(ctx context.Context, what string, fn func() error) error {
	sleep := r.Sleep
	if sleep == nil {
		sleep = SleepCtx
	}
	delay := r.Delay
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("terminated during %s: %w", what, ctx.Err())
		}
		var f *Failure
		if !errors.As(err, &f) || !f.Transient {
			return err
		}
		if attempt >= MaxAttempts {
			if f.Unreachable {
				return fmt.Errorf("destination %s unreachable after %d attempts (%s)", r.Destination, attempt, f.Reason)
			}
			return fmt.Errorf("%s to %s failed after %d attempts: %w", what, r.Destination, attempt, err)
		}
		r.Log.Printf("Attempt %d/%d of %s failed: %s; retrying in %s", attempt, MaxAttempts, what, f.Reason, delay)
		if err := sleep(ctx, delay); err != nil {
			return fmt.Errorf("terminated during %s: %w", what, err)
		}
		delay *= 2
	}
}

// SleepCtx waits for d or until ctx ends.
func SleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
