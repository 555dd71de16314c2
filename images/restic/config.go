package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/restic"
)

// defaultRetryDelay is how long a retried command waits for another holder's lock to go
// (restic's --retry-lock); mover.EnvRetryDelay overrides it.
const defaultRetryDelay = time.Minute

// EnvOpenTimeout (a Go duration, default defaultOpenTimeout) bounds how long restic may retry
// reaching the repository before it has opened it (tests).
const EnvOpenTimeout = "MOVER_OPEN_TIMEOUT"

// defaultOpenTimeout: restic's backend retries an unreachable repository for 15 minutes; the
// mover gives up after a minute (the reference waited 60 s too).
const defaultOpenTimeout = 60 * time.Second

// EnvProgressInterval (a Go duration, default defaultProgressInterval) is the least time
// between two progress lines of a backup or a restore in the log (tests).
const EnvProgressInterval = "MOVER_PROGRESS_INTERVAL"

// defaultProgressInterval: a long backup or restore logs its progress every 10 s.
const defaultProgressInterval = 10 * time.Second

// Config is the mover's configuration, from its arguments and environment.
type Config struct {
	// Actions are the arguments, in order (restic.Action*).
	Actions    []string
	Repository string
	CacheDir   string
	DataDir    string
	// ForgetOptions are FORGET_OPTIONS' words (none: no retention policy is applied).
	ForgetOptions []string
	// RestoreAsOf is RESTORE_AS_OF (zero: none).
	RestoreAsOf    time.Time
	SelectPrevious int
	// RestoreOptions are RESTORE_OPTIONS' words.
	RestoreOptions []string
	CustomCA       string
	Debug          bool
	// Privileged: PRIVILEGED_MOVER is set and the mover runs as root (owners are restored).
	Privileged bool
	// PrivilegedIgnored: PRIVILEGED_MOVER is set but the mover is not root.
	PrivilegedIgnored bool
	RetryDelay        time.Duration
	// OpenTimeout is EnvOpenTimeout.
	OpenTimeout time.Duration
	// ProgressInterval is EnvProgressInterval.
	ProgressInterval time.Duration
	// Hostname is the mover's host name, which restic records in its locks.
	Hostname string
	// Env is restic's environment.
	Env []string
}

// usageError is a configuration the mover cannot run with: nothing was done.
type usageError struct{ error }

// LoadConfig reads the configuration. A missing required variable is an error; a malformed
// value or an unknown action is a usageError.
func LoadConfig(args []string, getenv func(string) string, environ []string) (Config, error) {
	c := Config{
		Repository:  getenv(restic.EnvRepository),
		CacheDir:    getenv(restic.EnvCacheDir),
		DataDir:     orDefault(getenv(mover.EnvDataDir), mover.DataDir),
		CustomCA:    getenv(restic.EnvCustomCA),
		Debug:       isTrue(getenv(mover.EnvDebug)),
		RetryDelay:  defaultRetryDelay,
		OpenTimeout: defaultOpenTimeout,
	}
	c.ProgressInterval = defaultProgressInterval
	for _, name := range []string{restic.EnvRepository, restic.EnvPassword, restic.EnvCacheDir} {
		if getenv(name) == "" {
			return c, fmt.Errorf("%s must be defined (the repository Secret's key or the controller's variable)", name)
		}
	}
	if len(args) == 0 {
		return c, usageError{fmt.Errorf("no action: want one or more of %s, %s, %s, %s", restic.ActionUnlock, restic.ActionBackup, restic.ActionPrune, restic.ActionRestore)}
	}
	for _, a := range args {
		switch a {
		case restic.ActionUnlock, restic.ActionBackup, restic.ActionPrune, restic.ActionRestore:
			c.Actions = append(c.Actions, a)
		default:
			return c, usageError{fmt.Errorf("unknown operation: %q", a)}
		}
	}
	var err error
	c.ForgetOptions = strings.Fields(getenv(restic.EnvForgetOptions))
	c.RestoreOptions = strings.Fields(getenv(restic.EnvRestoreOptions))
	if v := strings.TrimSpace(getenv(restic.EnvRestoreAsOf)); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return c, usageError{fmt.Errorf("%s %q is not an RFC 3339 time: %w", restic.EnvRestoreAsOf, v, err)}
		}
		c.RestoreAsOf = t
	}
	if v := strings.TrimSpace(getenv(restic.EnvSelectPrevious)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, usageError{fmt.Errorf("%s %q is not a whole number", restic.EnvSelectPrevious, v)}
		}
		c.SelectPrevious = n
	}
	for name, d := range map[string]*time.Duration{mover.EnvRetryDelay: &c.RetryDelay, EnvOpenTimeout: &c.OpenTimeout,
		EnvProgressInterval: &c.ProgressInterval} {
		if v := getenv(name); v != "" {
			if *d, err = time.ParseDuration(v); err != nil || *d <= 0 {
				return c, usageError{fmt.Errorf("%s %q is not a positive duration", name, v)}
			}
		}
	}
	if getenv(mover.EnvPrivileged) == "1" {
		c.Privileged = os.Geteuid() == 0
		c.PrivilegedIgnored = !c.Privileged
	}
	if c.Hostname, err = os.Hostname(); err != nil {
		return c, fmt.Errorf("reading the host name: %w", err)
	}
	// restic prints a status message every ProgressInterval, no more (with --json and no
	// RESTIC_PROGRESS_FPS it would print 60 a second): the mover logs each one.
	fps := strconv.FormatFloat(float64(time.Second)/float64(c.ProgressInterval), 'g', 6, 64)
	c.Env = append(append([]string{}, environ...), "RESTIC_PROGRESS_FPS="+fps)
	return c, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func isTrue(v string) bool { return v == "1" || strings.EqualFold(v, "true") }
