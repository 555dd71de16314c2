package rsynctls

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
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

// rsync exit codes with a meaning here (rsync(1) EXIT VALUES).
const (
	rsyncPartial  = 23 // some files/attrs were not transferred
	rsyncVanished = 24 // source files vanished during the transfer (live volume)
)

// transientExitCodes are rsync failures worth another attempt: the connection did not start or
// broke (5 protocol startup, 10 socket I/O, 12 stream error, 30 I/O timeout, 35 daemon timeout).
var transientExitCodes = map[int]bool{5: true, 10: true, 12: true, 30: true, 35: true}

// Tools are the external programs a mover runs.
type Tools struct {
	Rsync   string
	Stunnel string
	// ACLs and Xattrs are the rsync build's capabilities.
	ACLs, Xattrs bool
}

// FindTools locates rsync and stunnel and asks rsync what it supports.
func FindTools(ctx context.Context) (Tools, error) {
	var t Tools
	var err error
	if t.Rsync, err = exec.LookPath("rsync"); err != nil {
		return t, fmt.Errorf("rsync not found: %w", err)
	}
	if t.Stunnel, err = exec.LookPath("stunnel"); err != nil {
		if t.Stunnel, err = exec.LookPath("stunnel4"); err != nil {
			return t, fmt.Errorf("stunnel not found: %w", err)
		}
	}
	out, err := exec.CommandContext(ctx, t.Rsync, "--version").Output()
	if err != nil {
		return t, fmt.Errorf("running rsync --version: %w", err)
	}
	t.ACLs, t.Xattrs = rsyncCapabilities(string(out))
	return t, nil
}

// rsyncCapabilities reads the "Capabilities:" block of rsync --version ("ACLs" or "no ACLs").
func rsyncCapabilities(version string) (acls, xattrs bool) {
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

// clientArgs is the one-pass push of dataDir to the data module.
//
// --delete removes what the source no longer has while the tree is walked (it frees space early;
// a failed run leaves a mixed tree, but the destination only keeps an image of a successful one).
// /lost+found is excluded: it is filesystem metadata, unreadable to non-root, and an excluded
// path is also protected from deletion on the destination.
func clientArgs(t Tools, privileged, debug bool, dataDir string) []string {
	args := []string{
		"--archive", "--hard-links", "--sparse", "--one-file-system", "--numeric-ids",
		"--delete", "--compress", "--stats",
		"--timeout=" + strconv.Itoa(int(RsyncIOTimeout.Seconds())),
		"--exclude=/lost+found",
	}
	if t.ACLs {
		args = append(args, "--acls")
	}
	if t.Xattrs {
		args = append(args, "--xattrs")
		if privileged {
			// root copies every namespace; an SELinux label belongs to the destination's pod.
			args = append(args, "--filter=-x system.*", "--filter=-x security.selinux")
		}
	}
	if !privileged {
		// Only root can give files away or create device nodes.
		args = append(args, "--no-owner", "--no-group", "--no-devices")
	}
	if debug {
		args = append(args, "--itemize-changes")
	}
	return append(args, strings.TrimSuffix(dataDir, "/")+"/", moduleURL(DataModule))
}

func moduleURL(module string) string { return "rsync://" + rsyncHost + "/" + module + "/" }

// Stats are the numbers the result reports, from rsync --stats.
type Stats struct {
	BytesSent        int64
	FilesTransferred int64
	seen             int
}

var statLine = regexp.MustCompile(`^(Total bytes sent|Number of regular files transferred): ([0-9][0-9,.]*)`)

// Parse reads one line of rsync's output and keeps the numbers it knows.
func (s *Stats) Parse(line string) bool {
	m := statLine.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	n, err := strconv.ParseInt(strings.NewReplacer(",", "", ".", "").Replace(m[2]), 10, 64)
	if err != nil {
		return false
	}
	switch m[1] {
	case "Total bytes sent":
		s.BytesSent = n
	case "Number of regular files transferred":
		s.FilesTransferred = n
	}
	s.seen++
	return true
}

// Complete reports whether both numbers were printed.
func (s *Stats) Complete() bool { return s.seen >= 2 }

// rootAttrError matches rsync's complaint that it could not set the times, permissions or ACLs
// of the destination's top directory. A non-root mover does not own the volume's root (kubelet
// or the provisioner created it), so that part of a sync cannot succeed and is not an error.
var rootAttrError = regexp.MustCompile(`^rsync: \[(generator|receiver)\] (failed to set (times|permissions) on "\." |set_acl: sys_acl_set_file\(\., )`)

// onlyRootAttrErrors reports whether every error line is a rootAttrError.
func onlyRootAttrErrors(errLines []string) bool {
	n := 0
	for _, l := range errLines {
		switch {
		case rootAttrError.MatchString(l):
			n++
		case strings.HasPrefix(l, "rsync error: some files/attrs were not transferred"):
		case strings.HasPrefix(l, "rsync: ") || strings.HasPrefix(l, "rsync error: "):
			return false
		}
	}
	return n > 0
}

// unreadableEntry matches the sender's report of a source entry it may not read: a file it
// cannot open, a directory it cannot list, an entry it cannot stat or read attributes of.
var unreadableEntry = regexp.MustCompile(`^rsync: \[sender\] .*?"(.+)".*: Permission denied \(13\)$`)

// unreadablePaths returns the source entries rsync could not read, relative to dataDir, in the
// order rsync reported them.
func unreadablePaths(errLines []string, dataDir string) []string {
	root := strings.TrimSuffix(dataDir, "/") + "/"
	var out []string
	for _, l := range errLines {
		m := unreadableEntry.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		rel := strings.TrimPrefix(m[1], root)
		if rel == "" || rel == "." || m[1]+"/" == root {
			rel = "."
		}
		out = append(out, rel)
	}
	return out
}

// lastRsyncError is the most telling error line: the first specific one, else the summary.
func lastRsyncError(errLines []string) string {
	var summary string
	for _, l := range errLines {
		switch {
		case strings.HasPrefix(l, "@ERROR"):
			return l
		case strings.HasPrefix(l, "rsync error: "):
			summary = l
		case strings.HasPrefix(l, "rsync: "):
			return l
		}
	}
	return summary
}

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
	w("timeout", strconv.Itoa(int(RsyncIOTimeout.Seconds())))
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
