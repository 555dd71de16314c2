package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/restic"
)

// Lock is one of the repository's locks (`restic cat lock`).
type Lock struct {
	ID        string    `json:"-"`
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Hostname  string    `json:"hostname"`
	Username  string    `json:"username"`
	PID       int       `json:"pid"`
}

// locks lists the repository's locks, oldest first. A lock removed while it is read is left
// out.
func (m *job) locks(ctx context.Context) ([]Lock, error) {
	run, err := m.restic.Exec(ctx, Call{Args: []string{"list", "locks", "--no-lock"}, Quiet: true})
	if err != nil {
		return nil, err
	}
	if run.RC != 0 {
		return nil, classify(m.cfg, "listing the repository's locks", run)
	}
	var locks []Lock
	for _, id := range run.Stdout {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		run, err := m.restic.Exec(ctx, Call{Args: []string{"cat", "lock", id, "--no-lock"}, Quiet: true})
		if err != nil {
			return nil, err
		}
		var l Lock
		if run.RC != 0 || json.Unmarshal([]byte(strings.Join(run.Stdout, "\n")), &l) != nil {
			continue
		}
		l.ID = id
		locks = append(locks, l)
	}
	sort.Slice(locks, func(i, j int) bool { return locks[i].Time.Before(locks[j].Time) })
	return locks, nil
}

// clearOwnLocks handles a command that failed on a lock. Locks of the mover's own host name
// were left by an earlier pod of the same object (the controller runs one at a time): when
// all are such, they are removed; otherwise restic removes the stale ones by its own rules.
func (m *job) clearOwnLocks(ctx context.Context) error {
	locks, err := m.locks(ctx)
	if err != nil {
		return err
	}
	own := 0
	for _, l := range locks {
		m.log.Printf("Lock %s: %s", shortID(l.ID), describeLock(l, time.Now()))
		if l.Hostname == m.cfg.Hostname {
			own++
		}
	}
	args := []string{"unlock"}
	switch {
	case len(locks) == 0:
		return nil // released meanwhile
	case own == len(locks):
		m.log.Printf("Removing %d lock(s) of this mover's host %q, left by an earlier run", own, m.cfg.Hostname)
		args = append(args, "--remove-all")
	default:
		m.log.Printf("Removing the stale locks (restic unlock)")
	}
	run, err := m.restic.Exec(ctx, Call{Args: args})
	if err != nil {
		return err
	}
	if run.RC != 0 {
		return classify(m.cfg, "removing locks", run)
	}
	return nil
}

// lockedFailure reports the lock that still holds the repository after the retry.
func (m *job) lockedFailure(ctx context.Context, what string, run *Run) error {
	locks, err := m.locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if l.Hostname != m.cfg.Hostname {
			return userAction(restic.ReasonLocked, "%s: the repository is locked by %s: set spec.restic.unlock to remove it", what, describeLock(l, time.Now()))
		}
	}
	return userAction(restic.ReasonLocked, "%s: the repository is locked (%s): set spec.restic.unlock to remove it", what, clip(run.lastError()))
}

// describeLock names a lock's holder and age.
func describeLock(l Lock, now time.Time) string {
	kind := ""
	if l.Exclusive {
		kind = "exclusive, "
	}
	return fmt.Sprintf("host %q (PID %d, user %s, %ssince %s, %s ago)", l.Hostname, l.PID, l.Username, kind,
		l.Time.UTC().Format(time.RFC3339), now.Sub(l.Time).Round(time.Second))
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
