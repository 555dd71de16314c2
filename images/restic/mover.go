package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/moverlog"
)

// Main runs the actions of args with its environment until they end or SIGTERM/SIGINT ends
// them, writes the JSON result (on every exit) and prints the reason of a failure as the only
// line on stderr. It returns the exit code.
func Main(args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer) int {
	redact := NewRedactor(getenv, environ)
	log := moverlog.NewLogger(stdout, redact)
	fin := moverlog.NewFinisher(getenv, redact, log, stderr)
	finish := fin.Finish
	cfg, err := LoadConfig(args, getenv, environ)
	if err != nil {
		log.Printf("ERROR: %v", err)
		code := ExitFailed
		if errors.As(err, &usageError{}) {
			code = ExitUsage
		}
		return finish(result.Result{Outcome: result.OutcomeFailed, Error: err.Error()}, code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	m := &job{cfg: cfg, log: log, res: result.Result{Details: map[string]string{}}}
	err = m.run(ctx)
	r := m.res
	if err != nil {
		code := ExitFailed
		var f *Failure
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("terminated: %w", err)
		case errors.As(err, &f):
			code = f.Code
			if f.Reason != "" {
				r.Details[restic.DetailReason] = f.Reason
			}
		}
		r.Outcome, r.Error = result.OutcomeFailed, err.Error()
		log.Printf("Restic failed: %s", redact.Mask(r.Error))
		return finish(r, code)
	}
	r.Outcome = result.OutcomeSuccessful
	m.say("Restic completed in %ds", int(time.Since(fin.Start).Round(time.Second).Seconds()))
	r.Summary = strings.Join(m.summary, "\n")
	return finish(r, ExitOK)
}

// job is one run's state.
type job struct {
	cfg     Config
	log     *moverlog.Logger
	restic  *Restic
	res     result.Result
	summary []string
}

// say prints a summary line (no timestamp: users' log filters look for its words) and keeps
// it for the result.
func (m *job) say(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	m.log.Summary("%s", line)
	m.summary = append(m.summary, line)
}

// run runs the actions in order.
func (m *job) run(ctx context.Context) error {
	c := m.cfg
	m.log.Printf("restic %s: repository %s, data %s, host %s, privileged=%t", strings.Join(c.Actions, ", "), c.Repository, c.DataDir, c.Hostname, c.Privileged)
	if c.PrivilegedIgnored {
		m.log.Printf("PRIVILEGED_MOVER is set but the mover does not run as root (uid %d): ownership is not restored", os.Geteuid())
	}
	if c.Debug {
		m.log.Printf("Cache %s: %s", c.CacheDir, freeSpace(c.CacheDir))
	}
	var err error
	if m.restic, err = NewRestic(c, m.log); err != nil {
		return err
	}
	for _, a := range c.Actions {
		m.log.Printf("=== %s ===", a)
		switch a {
		case restic.ActionUnlock:
			err = m.unlock(ctx)
		case restic.ActionBackup:
			err = m.backup(ctx)
		case restic.ActionPrune:
			err = m.prune(ctx)
		case restic.ActionRestore:
			err = m.restore(ctx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// exec runs a command that takes a lock or writes the cache. A command that failed on a lock
// runs again once after the mover removed its own host's locks (waiting up to RetryDelay for
// others to go); one that filled the cache, once after the mover emptied it. err is set when
// it is still locked or the cache still full (a Failure), or the mover is stopped; the caller
// classifies other failed runs.
func (m *job) exec(ctx context.Context, what string, c Call) (*Run, error) {
	c.Abort = m.abortOn(c.Abort)
	run, err := m.restic.Exec(ctx, c)
	if err != nil || run.RC == 0 {
		return run, err
	}
	switch {
	case isLocked(run):
		if err := m.clearOwnLocks(ctx); err != nil {
			return run, err
		}
		retry := c
		retry.Args = append(append([]string{}, c.Args...), "--retry-lock", m.cfg.RetryDelay.String())
		if run, err = m.restic.Exec(ctx, retry); err != nil || run.RC == 0 {
			return run, err
		}
		if isLocked(run) {
			return run, m.lockedFailure(ctx, what, run)
		}
	case isCacheFull(m.cfg, run):
		m.log.Printf("The cache is full (%s): emptying it and trying again", freeSpace(m.cfg.CacheDir))
		if err := emptyDir(m.cfg.CacheDir); err != nil {
			return run, fmt.Errorf("emptying the cache %s: %w", m.cfg.CacheDir, err)
		}
		if run, err = m.restic.Exec(ctx, c); err != nil || run.RC == 0 {
			return run, err
		}
		if isCacheFull(m.cfg, run) {
			return run, userAction(restic.ReasonCacheFull, "%s: the cache volume is full even after emptying it (%s): raise spec.restic.cacheCapacity",
				what, noSpaceCause(run))
		}
	}
	return run, nil
}

// must is exec for a command that has to succeed: a failed run is a Failure.
func (m *job) must(ctx context.Context, what string, c Call) (*Run, error) {
	run, err := m.exec(ctx, what, c)
	if err == nil && run.RC != 0 {
		err = classify(m.cfg, what, run)
	}
	return run, err
}

// abortOn adds to abort a full cache: restic's backend retries writing to it for up to 15
// minutes; the mover stops restic at once, empties the cache and runs the command again.
func (m *job) abortOn(abort func(string) bool) func(string) bool {
	return func(msg string) bool {
		return abort != nil && abort(msg) || isCacheFullMsg(m.cfg, msg)
	}
}

// open runs a command that opens an existing repository. ok is false when there is no
// repository (restic exit 10): the command did nothing.
func (m *job) open(ctx context.Context, what string, c Call) (run *Run, ok bool, err error) {
	run, err = m.exec(ctx, what, c)
	switch {
	case err != nil:
		return run, false, err
	case run.RC == rcNoRepository:
		m.log.Printf("No repository at %s", m.cfg.Repository)
		return run, false, nil
	case run.RC != 0:
		return run, false, classify(m.cfg, what, run)
	}
	return run, true, nil
}

// unlock removes every lock of the repository (spec.restic.unlock). No repository: nothing to
// unlock.
func (m *job) unlock(ctx context.Context) error {
	if _, _, err := m.open(ctx, "unlocking the repository", Call{Args: []string{"unlock", "--remove-all"}}); err != nil {
		return err
	}
	m.res.Details[restic.DetailUnlocked] = "true"
	return nil
}

// prune removes the data no snapshot uses any more. No repository: nothing to prune.
func (m *job) prune(ctx context.Context) error {
	_, ok, err := m.open(ctx, "pruning the repository", Call{Args: []string{"prune"}})
	if err != nil || !ok {
		return err
	}
	m.say("Pruned the repository")
	m.res.Details[restic.DetailPruned] = "true"
	return nil
}

// isEmpty reports whether dir holds nothing but lost+found.
func isEmpty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("reading the data volume: %w", err)
	}
	for _, e := range entries {
		if e.Name() != lostFound {
			return false, nil
		}
	}
	return true, nil
}

// emptyDir removes what dir holds, not dir itself (a mount point).
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// freeSpace describes the free space of the filesystem holding dir.
func freeSpace(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return err.Error()
	}
	free, total := int64(st.Bavail)*st.Bsize, int64(st.Blocks)*st.Bsize
	return fmt.Sprintf("%s free of %s", result.FormatBytes(free, 1), result.FormatBytes(total, 1))
}

// noSpaceCause quotes the write that found the cache full.
func noSpaceCause(run *Run) string {
	if s := noSpace.FindString(run.all() + "\n" + run.Aborted); s != "" {
		return s
	}
	return clip(run.lastError())
}
