package rsync

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/volsync-go/volsync/images/internal/proc"
)

// Exec runs prog (rsync, or ssh) with args and env and returns its error output (at most
// KeepErrLines lines, each also logged after the program's name) and exit code. stdout gets each line of its standard output (nil discards).
// err is set only when rsync did not run or was stopped.
func Exec(ctx context.Context, prog string, args, env []string, log *Logger, stdout proc.LineFunc) ([]string, int, error) {
	cmd := exec.Command(prog, args...)
	name := filepath.Base(prog)
	cmd.Env = env
	var errLines []string
	rc, err := proc.Run(ctx, cmd, stdout, func(line string) {
		log.Printf("%s: %s", name, line)
		if len(errLines) < KeepErrLines {
			errLines = append(errLines, line)
		}
	})
	if err != nil && rc == -1 {
		if ctx.Err() != nil {
			return errLines, rc, ctx.Err()
		}
		return errLines, rc, fmt.Errorf("running %s: %w", name, err)
	}
	return errLines, rc, nil
}

// Transfer is the outcome of one push.
type Transfer struct {
	Stats    Stats
	ErrLines []string
	RC       int
	// OK: the sync succeeded (exit 0, 24, or 23 for the top directory's attributes only).
	OK bool
}

// Push runs one push (PushArgs and the source and destination in args) with rsync's output
// logged: the statistics always, every line in debug mode. It decides whether the exit code is
// a successful sync; explaining a failure is the caller's (it knows the transport).
func Push(ctx context.Context, rsync string, args, env []string, debug bool, log *Logger) (Transfer, error) {
	var t Transfer
	var err error
	t.ErrLines, t.RC, err = Exec(ctx, rsync, args, env, log, func(line string) {
		if t.Stats.Parse(line) || debug || IsStatsLine(line) {
			log.Printf("rsync: %s", line)
		}
	})
	if err != nil {
		return t, err
	}
	switch {
	case t.RC == 0:
		t.OK = true
	case t.RC == ExitVanished:
		t.OK = true
		log.Printf("Some source files vanished during the transfer (the volume is in use); they are absent on the destination too")
	case t.RC == ExitPartial && OnlyRootAttrErrors(t.ErrLines):
		t.OK = true
		log.Printf("The destination's top directory is not owned by this user; its times/permissions were left as they are")
	}
	if t.OK && !t.Stats.Complete() {
		log.Printf("rsync printed no complete statistics; reporting what it printed")
	}
	return t, nil
}

// Unreadable returns the reason of a push that failed because the mover may not read some
// source entries ("" when that is not why it failed).
func (t Transfer) Unreadable(dataDir string) string {
	paths := UnreadablePaths(t.ErrLines, dataDir)
	if t.RC != ExitPartial || len(paths) == 0 {
		return ""
	}
	return UnreadableReason(paths, len(t.ErrLines) >= KeepErrLines, os.Geteuid())
}

// ShQuote quotes s for /bin/sh.
func ShQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
