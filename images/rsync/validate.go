package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The destination's forced command lets a source run one thing besides shutdown: an rsync
// server that receives into the volume. Its command line is checked the way rrsync (rsync's
// restricted-rsync script) checks it: only options an rsync client sends to a receiving server
// are accepted, an option naming a file or directory must name one inside the volume, and so
// must every path argument. rsync itself refuses file-list names with ".." or a leading "/".

// errRefused is wrapped by every reason a command line is refused.
var errRefused = errors.New("refused")

// optKind says what a long option takes.
type optKind int

const (
	optNoArg   optKind = iota // a flag
	optValue                  // a value that names nothing on the filesystem
	optPath                   // a directory the receiver uses: must be inside the volume
	optRefused                // never accepted
)

// longOpts are the long options a client sends to a receiving server (rrsync's list).
var longOpts = map[string]optKind{
	"append": optNoArg, "backup-dir": optPath, "block-size": optValue, "bwlimit": optValue,
	"checksum-choice": optValue, "checksum-seed": optValue, "compare-dest": optPath,
	"compress-choice": optValue, "compress-level": optValue, "compress-threads": optValue,
	"copy-dest": optPath, "copy-devices": optRefused, "copy-unsafe-links": optRefused,
	"daemon": optRefused, "debug": optRefused, "delay-updates": optNoArg, "delete": optNoArg,
	"delete-after": optNoArg, "delete-before": optNoArg, "delete-delay": optNoArg,
	"delete-during": optNoArg, "delete-excluded": optNoArg, "delete-missing-args": optNoArg,
	"dirs": optNoArg, "existing": optNoArg, "fake-super": optNoArg, "files-from": optRefused,
	"force": optNoArg, "from0": optNoArg, "fsync": optNoArg, "fuzzy": optNoArg, "group": optNoArg,
	"groupmap": optValue, "hard-links": optNoArg, "iconv": optValue, "ignore-errors": optNoArg,
	"ignore-existing": optNoArg, "ignore-missing-args": optNoArg, "ignore-times": optNoArg,
	"info": optValue, "inplace": optNoArg, "link-dest": optPath, "links": optNoArg,
	"list-only": optNoArg, "log-file": optRefused, "log-file-format": optRefused,
	"log-format": optValue, "max-alloc": optValue, "max-delete": optValue, "max-size": optValue,
	"min-size": optValue, "mkpath": optNoArg, "modify-window": optValue, "msgs2stderr": optNoArg,
	"munge-links": optNoArg, "new-compress": optNoArg, "no-W": optNoArg, "no-implied-dirs": optNoArg,
	"no-msgs2stderr": optNoArg, "no-munge-links": optRefused, "no-r": optNoArg,
	"no-relative": optNoArg, "no-specials": optNoArg, "numeric-ids": optNoArg,
	"old-compress": optNoArg, "one-file-system": optNoArg, "only-write-batch": optRefused,
	"open-noatime": optNoArg, "owner": optNoArg, "partial": optNoArg, "partial-dir": optPath,
	"perms": optNoArg, "preallocate": optNoArg, "read-batch": optRefused, "recursive": optNoArg,
	"remove-sent-files": optRefused, "remove-source-files": optRefused, "safe-links": optNoArg,
	"sender": optRefused, "server": optNoArg, "size-only": optNoArg, "skip-compress": optValue,
	"specials": optNoArg, "stats": optNoArg, "stderr": optValue, "suffix": optValue,
	"super": optNoArg, "temp-dir": optPath, "timeout": optValue, "times": optNoArg,
	"use-qsort": optNoArg, "usermap": optValue, "write-batch": optRefused, "write-devices": optRefused,
}

// Short options: a cluster such as -logDtprze.iLsfxCIvu (the trailing e.iLsfx... is the
// client's capability string). Left out on purpose, as rrsync does for a restricted directory:
// s (arguments sent over the protocol, where they cannot be checked), K (follow symlinked
// directories on the receiver), L and k (copy the targets of links).
var (
	shortNoArg   = regexp.MustCompile(`^-[ACDEHIJNORSUWXbcdglmnopqrtuvxyz]*(e\d*\.\w*)?$`)
	shortWithNum = regexp.MustCompile(`^-[@B]\d+$`)
	longOpt      = regexp.MustCompile(`^--([^=]+)(=(.*))?$`)
	// token is one shell word of the command as an rsync client writes it: backslashes
	// protect spaces and other special characters.
	token     = regexp.MustCompile(`(?:[^\s\\]+|\\.[^\s\\]*)+`)
	backslash = regexp.MustCompile(`\\(.)`)
)

// rsyncServer is a checked command line.
type rsyncServer struct {
	// Opts are the options, path values already rewritten relative to the volume.
	Opts []string
	// Paths are the destination paths, relative to the volume.
	Paths []string
}

// parseRsyncServer checks the command an ssh client asked for (SSH_ORIGINAL_COMMAND) and
// returns what to run in dataDir.
func parseRsyncServer(command, dataDir string) (rsyncServer, error) {
	var s rsyncServer
	words := token.FindAllString(command, -1)
	if len(words) < 2 || words[0] != "rsync" || words[1] != "--server" {
		return s, fmt.Errorf("%w: not an rsync server command line (want \"rsync --server ...\")", errRefused)
	}
	sawDot := false
	for i := 2; i < len(words); i++ {
		w := words[i]
		if sawDot {
			p, err := insideVolume(dataDir, backslash.ReplaceAllString(w, "$1"))
			if err != nil {
				return s, err
			}
			s.Paths = append(s.Paths, p)
			continue
		}
		switch {
		case w == ".":
			sawDot = true
		case shortNoArg.MatchString(w) || shortWithNum.MatchString(w):
			s.Opts = append(s.Opts, w)
		case longOpt.MatchString(w):
			m := longOpt.FindStringSubmatch(w)
			name, hasValue, value := m[1], m[2] != "", backslash.ReplaceAllString(m[3], "$1")
			kind, known := longOpts[name]
			switch {
			case !known:
				return s, fmt.Errorf("%w: option --%s is not accepted", errRefused, name)
			case name == "sender":
				return s, fmt.Errorf("%w: --sender: this destination only receives (nothing can be read from it)", errRefused)
			case kind == optRefused:
				return s, fmt.Errorf("%w: option --%s is not accepted (it names files outside the volume or is not needed to receive)", errRefused, name)
			case kind == optNoArg:
				if hasValue {
					return s, fmt.Errorf("%w: option --%s takes no value", errRefused, name)
				}
				s.Opts = append(s.Opts, w)
			default:
				if !hasValue {
					if i+1 >= len(words) {
						return s, fmt.Errorf("%w: option --%s lacks its value", errRefused, name)
					}
					i++
					value = backslash.ReplaceAllString(words[i], "$1")
				}
				if kind == optPath {
					p, err := insideVolume(dataDir, value)
					if err != nil {
						return s, fmt.Errorf("--%s: %w", name, err)
					}
					value = p
				}
				s.Opts = append(s.Opts, "--"+name+"="+value)
			}
		case strings.HasPrefix(w, "-"):
			return s, fmt.Errorf("%w: option %s is not accepted", errRefused, w)
		default:
			return s, fmt.Errorf("%w: unexpected argument %q before \".\"", errRefused, w)
		}
	}
	if !sawDot {
		return s, fmt.Errorf("%w: not an rsync server command line (no \".\" argument)", errRefused)
	}
	if len(s.Paths) == 0 {
		s.Paths = []string{"."}
	}
	return s, nil
}

// insideVolume checks that p (as a client names it: relative, or "/..." for the volume's root)
// stays inside dataDir, also through symbolic links that exist in the volume, and returns it
// relative to dataDir. A trailing "/" is kept (rsync gives it a meaning).
func insideVolume(dataDir, p string) (string, error) {
	if p == "" || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%w: empty path", errRefused)
	}
	trailing := strings.HasSuffix(p, "/")
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: path %q leaves the volume (\"..\")", errRefused, p)
		}
	}
	rel := filepath.Clean("/" + p)[1:]
	if rel == "" {
		rel = "."
	}
	root, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return "", fmt.Errorf("resolving the volume: %w", err)
	}
	// The longest existing prefix, with its symbolic links resolved, must stay in the volume.
	existing := filepath.Join(root, rel)
	for {
		if _, err := os.Lstat(existing); err == nil || existing == root {
			break
		}
		existing = filepath.Dir(existing)
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", fmt.Errorf("%w: path %q: %w", errRefused, p, err)
	}
	if real != root && !strings.HasPrefix(real, root+"/") {
		return "", fmt.Errorf("%w: path %q leaves the volume (through a symbolic link)", errRefused, p)
	}
	if trailing && rel != "." {
		rel += "/"
	}
	return rel, nil
}
