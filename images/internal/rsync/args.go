package rsync

import (
	"strconv"
	"strings"
	"time"
)

// IOTimeout ends a transfer when no data moves for this long (both ends).
const IOTimeout = 5 * time.Minute

// PushArgs are the options of the one-pass push of a volume: everything a replica needs
// (contents, permissions, times, symlinks, hard links, sparse files, ACLs and xattrs when the
// build has them, ownership as root) in one pass over the directory itself.
//
// --delete removes what the source no longer has while the tree is walked (it frees space early;
// a failed run leaves a mixed tree, but the destination only keeps an image of a successful one).
// /lost+found is excluded: it is filesystem metadata, unreadable to non-root, and an excluded
// path is also protected from deletion on the destination.
func PushArgs(t Tools, privileged, debug bool) []string {
	args := []string{
		"--archive", "--hard-links", "--sparse", "--one-file-system", "--numeric-ids",
		"--delete", "--compress", "--stats",
		"--timeout=" + strconv.Itoa(int(IOTimeout.Seconds())),
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
	return args
}

// SourceDir is the argument that makes rsync copy the contents of dataDir (not the directory
// itself): no glob and no file list, so 100k entries in the root are fine and deletions happen
// in the same pass.
func SourceDir(dataDir string) string { return strings.TrimSuffix(dataDir, "/") + "/" }
