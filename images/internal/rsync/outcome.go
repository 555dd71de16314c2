package rsync

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// rsync exit codes with a meaning here (rsync(1) EXIT VALUES).
const (
	ExitPartial  = 23 // some files/attrs were not transferred
	ExitVanished = 24 // source files vanished during the transfer (live volume)
)

// transientExitCodes are rsync failures worth another attempt: the connection did not start or
// broke (5 protocol startup, 10 socket I/O, 12 stream error, 30 I/O timeout, 35 daemon timeout).
var transientExitCodes = map[int]bool{5: true, 10: true, 12: true, 30: true, 35: true}

// TransientExit reports an rsync exit code that another attempt may not see.
func TransientExit(rc int) bool { return transientExitCodes[rc] }

const (
	// KeepErrLines bounds the rsync error lines kept to explain a failure.
	KeepErrLines = 200
	// maxNamedPaths and maxPathChars bound the unreadable paths named in a failure, so the
	// result stays within the termination message's size.
	maxNamedPaths = 3
	maxPathChars  = 200
	// PrivilegedMoversAnnotation is the namespace annotation that lets VolSync run movers as
	// root (the controller's v1alpha1.PrivilegedMoversNamespaceAnnotation; this module has no dependencies).
	PrivilegedMoversAnnotation = "volsync.backube/privileged-movers"
)

// rootAttrError matches rsync's complaint that it could not set the times, permissions or ACLs
// of the destination's top directory. A non-root mover does not own the volume's root (kubelet
// or the provisioner created it), so that part of a sync cannot succeed and is not an error.
// An rsync daemon names it `"." (in module)`, an rsync started over ssh `"."` or `"/path/."`.
var rootAttrError = regexp.MustCompile(`^rsync: \[(generator|receiver)\] (failed to set (times|permissions) on "(|[^"]*/)\."[ :]|set_acl: sys_acl_set_file\(\., )`)

// OnlyRootAttrErrors reports whether every error line is a rootAttrError.
func OnlyRootAttrErrors(errLines []string) bool {
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

// UnreadablePaths returns the source entries rsync could not read, relative to dataDir, in the
// order rsync reported them.
func UnreadablePaths(errLines []string, dataDir string) []string {
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

// UnreadableReason explains a sync that failed because the mover's user may not read some source
// entries, naming the first few and what the user can do. A partial copy is never accepted: the
// destination would keep an image without those files and nobody would notice. more says the
// error lines were cut (KeepErrLines), so the count is a lower bound.
func UnreadableReason(paths []string, more bool, uid int) string {
	shown := make([]string, 0, maxNamedPaths)
	for _, p := range paths[:min(len(paths), maxNamedPaths)] {
		if len(p) > maxPathChars {
			p = p[:maxPathChars] + "..."
		}
		shown = append(shown, strconv.Quote(p))
	}
	count := strconv.Itoa(len(paths)) + " source entries"
	if len(paths) == 1 {
		count = "1 source entry"
	}
	if more {
		count = "at least " + count
	}
	list := strings.Join(shown, ", ")
	if len(paths) > len(shown) {
		list += ", ..."
	}
	if uid == 0 {
		return fmt.Sprintf("rsync exit %d: root cannot read %s (permission denied, e.g. an NFS export that squashes root): %s; "+
			"make them readable or run the mover as their owner with moverSecurityContext", ExitPartial, count, list)
	}
	return fmt.Sprintf("rsync exit %d: the mover (uid %d) cannot read %s (permission denied): %s; "+
		"a non-root mover reads only what its uid, its groups or everyone may read (directories must also be searchable): "+
		"run it as the application's user (moverSecurityContext with the application's runAsUser, runAsGroup and fsGroup) "+
		"or allow privileged movers with the namespace annotation %s=\"true\"", ExitPartial, uid, count, list, PrivilegedMoversAnnotation)
}

// LastError is the most telling error line: the first specific one, else the summary.
func LastError(errLines []string) string {
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
