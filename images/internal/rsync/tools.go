package rsync

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Tools is the rsync a mover runs and what its build supports.
type Tools struct {
	Rsync string
	// ACLs and Xattrs are the rsync build's capabilities.
	ACLs, Xattrs bool
}

// FindRsync locates rsync and asks it what it supports.
func FindRsync(ctx context.Context) (Tools, error) {
	var t Tools
	var err error
	if t.Rsync, err = exec.LookPath("rsync"); err != nil {
		return t, fmt.Errorf("rsync not found: %w", err)
	}
	out, err := exec.CommandContext(ctx, t.Rsync, "--version").Output()
	if err != nil {
		return t, fmt.Errorf("running rsync --version: %w", err)
	}
	t.ACLs, t.Xattrs = Capabilities(string(out))
	return t, nil
}

// HasConfineRoot reports whether rsync has --confine-root (bounds the paths a server resolves;
// newer builds only).
func HasConfineRoot(ctx context.Context, rsync string) bool {
	help, _ := exec.CommandContext(ctx, rsync, "--help").Output()
	return strings.Contains(string(help), "--confine-root=")
}

// Capabilities reads the "Capabilities:" block of rsync --version ("ACLs" or "no ACLs").
func Capabilities(version string) (acls, xattrs bool) {
	for _, f := range strings.FieldsFunc(version, func(r rune) bool { return r == ',' || r == '\n' }) {
		switch strings.TrimSpace(f) {
		case "ACLs":
			acls = true
		case "xattrs":
			xattrs = true
		}
	}
	return acls, xattrs
}
