package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/volsync-go/volsync/images/internal/rsync"
)

const (
	// DataModule and ControlModule are the rsync daemon's modules: the volume, and a scratch
	// directory where the source drops DoneMarker after a successful sync.
	DataModule    = "data"
	ControlModule = "control"
	// DoneMarker is the file the source sends last. rsync writes it under a temporary name and
	// renames it when complete, so the server never sees a partial marker.
	DoneMarker = "complete"
	// rsyncHost is a placeholder: RSYNC_CONNECT_PROG makes the connection, not rsync.
	rsyncHost = "volsync"
	// mungePrefix is what an rsync daemon without chroot puts in front of stored symlink values.
	mungePrefix = "/rsyncd-munged/"
	// maxDoneMarkerBytes bounds the marker the server reads.
	maxDoneMarkerBytes = 4096
)

// Tools are the external programs this mover runs.
type Tools struct {
	rsync.Tools
	Stunnel string
}

// FindTools locates rsync and stunnel and asks rsync what it supports.
func FindTools(ctx context.Context) (Tools, error) {
	var t Tools
	var err error
	if t.Tools, err = rsync.FindRsync(ctx); err != nil {
		return t, err
	}
	if t.Stunnel, err = exec.LookPath("stunnel"); err != nil {
		if t.Stunnel, err = exec.LookPath("stunnel4"); err != nil {
			return t, fmt.Errorf("stunnel not found: %w", err)
		}
	}
	return t, nil
}

// clientArgs is the one-pass push of dataDir to the data module.
func clientArgs(t Tools, privileged, debug bool, dataDir string) []string {
	return append(rsync.PushArgs(t.Tools, privileged, debug), rsync.SourceDir(dataDir), moduleURL(DataModule))
}

func moduleURL(module string) string { return "rsync://" + rsyncHost + "/" + module + "/" }

// daemonConfig is rsyncd.conf for the server. Each connection gets its own rsync started by
// stunnel in inetd mode (rsync --daemon with a socket on stdin), so no rsync port is opened and
// errors on the destination reach the source's exit code.
//
// No "max connections": after a network break the old daemon may live until its I/O timeout,
// and a limit would make the source's retries fail; a stale daemon only waits for data.
func daemonConfig(dataDir, controlDir string, privileged, debug bool) string {
	var b strings.Builder
	w := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	// Non-root cannot chroot. Without chroot rsync munges stored symlink values (prefixing
	// mungePrefix) instead of rewriting them; the server restores them after the sync.
	w("use chroot", "no")
	w("munge symlinks", "yes")
	w("numeric ids", "yes")
	w("reverse lookup", "no")
	w("log file", "/dev/stderr")
	w("timeout", strconv.Itoa(int(rsync.IOTimeout.Seconds())))
	w("read only", "no")
	w("transfer logging", strconv.FormatBool(debug))
	if privileged {
		// A daemon started by root switches to "nobody" unless told otherwise.
		w("uid", "0")
		w("gid", "0")
	}
	b.WriteString("\n[" + DataModule + "]\n")
	w("path", dataDir)
	b.WriteString("\n[" + ControlModule + "]\n")
	w("path", controlDir)
	w("write only", "yes")
	return b.String()
}
