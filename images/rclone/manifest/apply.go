package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// ApplyStats counts what Apply changed.
type ApplyStats struct {
	// Removed counts entries removed because the manifest does not list them.
	Removed int
	// Created counts directories and symlinks created (or symlinks replaced).
	Created int
	// Updated counts entries whose owner, mode, attributes or time were set.
	Updated int
	// RootKept is set when the volume's top directory belongs to another user, so its mode,
	// attributes and time were left as they are (a non-root mover).
	RootKept bool
	// XattrsUnsupported is set when the destination filesystem refused extended attributes.
	XattrsUnsupported bool
}

// IncompleteError is a destination whose regular files do not match the manifest: the source
// was uploading while this destination copied (the manifest is from one sync, some files from
// another). The next sync, once the source has finished, succeeds.
type IncompleteError struct {
	// Paths are the first mismatching files; Count counts them all.
	Paths []string
	Count int
}

func (e *IncompleteError) Error() string {
	list := pathList(e.Paths, e.Count)
	return fmt.Sprintf("%d files differ from the manifest (missing or another size): %s; "+
		"the source was probably uploading: the next sync will complete it", e.Count, list)
}

// Apply makes the volume at root, whose regular files rclone has just copied, match m: it
// removes what m does not list (unless o.NothingAdded), creates directories and symlinks, checks that every regular
// file is there with its size (*IncompleteError otherwise, before changing any attribute),
// then sets ownership (privileged only), attributes, modes and times, each directory after
// its contents.
func Apply(root string, m *Manifest, o DestOptions) (ApplyStats, error) {
	root = filepath.Clean(root)
	var s ApplyStats
	if !o.NothingAdded {
		var err error
		if s.Removed, err = prune(root, Root, m, o); err != nil {
			return s, err
		}
	}
	stats := make([]stat, len(m.Entries))
	missing := &IncompleteError{}
	for i, e := range m.Entries {
		abs := join(root, e.Path)
		created, st, err := ensure(abs, e)
		if err != nil {
			return s, err
		}
		if created {
			s.Created++
		}
		if e.Type == File && (st.typ != File || st.size != e.Size) {
			missing.Count++
			if len(missing.Paths) < maxNamed {
				missing.Paths = append(missing.Paths, e.Path)
			}
		}
		stats[i] = st
	}
	if missing.Count > 0 {
		return s, missing
	}
	for i := len(m.Entries) - 1; i >= 0; i-- {
		e := m.Entries[i]
		changed, err := setAttrs(join(root, e.Path), e, stats[i], o, &s)
		if err != nil && e.Path == Root && permissionError(err) {
			s.RootKept = true // kubelet's directory: a non-root mover cannot change it
			continue
		}
		if err != nil {
			return s, fmt.Errorf("%s: %w", quoteRel(e.Path), err)
		}
		if changed {
			s.Updated++
		}
	}
	return s, nil
}

// ensure makes a directory or symlink e exist at abs and returns whether it did, and abs's lstat.
func ensure(abs string, e Entry) (bool, stat, error) {
	st, err := lstat(abs)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, st, err
	}
	exists := err == nil
	switch e.Type {
	case Dir:
		if exists && st.typ == Dir {
			return false, st, nil
		}
		if exists {
			if _, err := removeAll(abs); err != nil {
				return false, st, err
			}
		}
		// Owner-only until its mode is set, after its contents.
		if err := syscall.Mkdir(abs, 0o700); err != nil {
			return false, st, &os.PathError{Op: "mkdir", Path: abs, Err: err}
		}
	case Symlink:
		if exists && st.typ == Symlink {
			if target, err := os.Readlink(abs); err == nil && target == e.Target {
				return false, st, nil
			}
		}
		if exists {
			if _, err := removeAll(abs); err != nil {
				return false, st, err
			}
		}
		if err := os.Symlink(e.Target, abs); err != nil {
			return false, st, err
		}
	default:
		return false, st, nil
	}
	st, err = lstat(abs)
	return true, st, err
}

// setAttrs gives abs (lstat st, taken before) e's owner (privileged only), attributes, mode
// and time, and reports whether it changed anything.
func setAttrs(abs string, e Entry, st stat, o DestOptions, s *ApplyStats) (bool, error) {
	changed := false
	if o.Privileged && (st.uid != e.UID || st.gid != e.GID) {
		if err := os.Lchown(abs, int(e.UID), int(e.GID)); err != nil {
			return false, err
		}
		changed = true // chown clears setuid and setgid: set the mode again
	}
	if e.Type != Symlink {
		mode := st.mode
		if !s.XattrsUnsupported {
			x, err := syncXattrs(abs, e.Xattrs)
			if err != nil && permissionError(err) && !o.Privileged && st.mode&0o200 == 0 {
				// user.* attributes need write permission, which the copied mode may deny.
				if err = chmod(abs, st.mode|0o200); err == nil {
					mode |= 0o200
					x, err = syncXattrs(abs, e.Xattrs)
				}
			}
			switch {
			case err != nil && unsupported(err):
				s.XattrsUnsupported = true
			case err != nil:
				return changed, err
			}
			// Setting an access ACL changes the group bits of the mode.
			changed = changed || x
			if x {
				mode = ^uint32(0)
			}
		}
		if changed || mode != e.Mode {
			if err := chmod(abs, e.Mode); err != nil {
				return changed, err
			}
			changed = true
		}
	}
	// A directory's time changed when its contents did: always set it, after them.
	if e.Type == Dir || st.mtime != e.MTime {
		if err := setMtime(abs, e.MTime); err != nil {
			return changed, err
		}
		changed = changed || st.mtime != e.MTime
	}
	return changed, nil
}

// join is root/rel for a manifest path.
func join(root, rel string) string {
	if rel == Root {
		return root
	}
	return root + "/" + rel
}

// quoteRel names a volume path in an error.
func quoteRel(rel string) string {
	if rel == Root {
		return "the volume's top directory"
	}
	return strconv.Quote(rel)
}
