package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// WalkOptions says what a walk leaves out.
type WalkOptions struct {
	// ExcludeTop are names at the top of the volume that are not recorded (lost+found, the
	// manifest's own name). rclone gets the same exclusions.
	ExcludeTop []string
}

// WalkStats counts what a walk saw but did not record.
type WalkStats struct {
	// Skipped counts sockets, FIFOs and device files.
	Skipped int
	// MountPoints counts directories on another filesystem, recorded without their contents
	// (rclone --one-file-system does not descend into them either).
	MountPoints int
}

// maxNamed bounds the paths an error names.
const maxNamed = 3

// rOK is access(2)'s R_OK.
const rOK = 4

// UnreadableError is a walk that could not read some entries (permission denied).
type UnreadableError struct {
	// Paths are the first entries (relative) that could not be read; Count counts them all.
	Paths []string
	Count int
}

func (e *UnreadableError) Error() string {
	list := pathList(e.Paths, e.Count)
	n := strconv.Itoa(e.Count) + " entries"
	if e.Count == 1 {
		n = "1 entry"
	}
	return fmt.Sprintf("cannot read %s of the volume (permission denied): %s", n, list)
}

// Walk records the volume at root: every directory, regular file and symlink, in walk order
// (names sorted bytewise within a directory, a directory before its contents). It does not
// cross into other filesystems. Entries it may not read make an *UnreadableError once the
// whole volume was walked.
func Walk(root string, opts WalkOptions) (*Manifest, WalkStats, error) {
	w := &walker{root: filepath.Clean(root), exclude: map[string]bool{}, unreadable: &UnreadableError{}, checkRead: os.Geteuid() != 0}
	for _, n := range opts.ExcludeTop {
		w.exclude[n] = true
	}
	st, err := lstat(w.root)
	if err != nil {
		return nil, w.stats, err
	}
	if st.typ != Dir {
		return nil, w.stats, fmt.Errorf("%s is not a directory", root)
	}
	w.dev = st.dev
	if err := w.walk(Root, w.root, st); err != nil {
		return nil, w.stats, err
	}
	if w.unreadable.Count > 0 {
		return nil, w.stats, w.unreadable
	}
	if err := w.m.Index(); err != nil {
		return nil, w.stats, fmt.Errorf("walk produced a bad manifest: %w", err)
	}
	return &w.m, w.stats, nil
}

type walker struct {
	root       string
	dev        uint64
	exclude    map[string]bool
	m          Manifest
	stats      WalkStats
	unreadable *UnreadableError
	// checkRead: check that regular files are readable (root reads everything).
	checkRead bool
}

// denied records rel as unreadable when err is a permission error; other errors are returned.
func (w *walker) denied(rel string, err error) error {
	if !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) {
		return err
	}
	w.unreadable.Count++
	if len(w.unreadable.Paths) < maxNamed {
		w.unreadable.Paths = append(w.unreadable.Paths, rel)
	}
	return nil
}

// walk records the directory rel (at abs, lstat st) and everything below it.
func (w *walker) walk(rel, abs string, st stat) error {
	e := Entry{Path: rel, Type: Dir, Mode: st.mode, UID: st.uid, GID: st.gid, MTime: st.mtime}
	var err error
	if e.Xattrs, err = readXattrs(abs); err != nil {
		return w.denied(rel, err)
	}
	w.m.Entries = append(w.m.Entries, e)
	if st.dev != w.dev {
		w.stats.MountPoints++
		return nil
	}
	names, err := readDirNames(abs)
	if err != nil {
		return w.denied(rel, err)
	}
	for _, name := range names {
		if rel == Root && w.exclude[name] {
			continue
		}
		crel, cabs := name, abs+"/"+name
		if rel != Root {
			crel = rel + "/" + name
		}
		cst, err := lstat(cabs)
		if errors.Is(err, os.ErrNotExist) {
			continue // removed meanwhile (a live volume)
		}
		if err != nil {
			if err := w.denied(crel, err); err != nil {
				return err
			}
			continue
		}
		switch cst.typ {
		case Dir:
			if err := w.walk(crel, cabs, cst); err != nil {
				return err
			}
		case File, Symlink:
			if err := w.leaf(crel, cabs, cst); err != nil {
				return err
			}
		default:
			w.stats.Skipped++
		}
	}
	return nil
}

// leaf records a regular file or a symlink.
func (w *walker) leaf(rel, abs string, st stat) error {
	e := Entry{Path: rel, Type: st.typ, Mode: st.mode, UID: st.uid, GID: st.gid, MTime: st.mtime, Size: st.size}
	var err error
	if st.typ == Symlink {
		if e.Target, err = os.Readlink(abs); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return w.denied(rel, err)
		}
	} else {
		// rclone will read it: say now, naming it, when it may not.
		if err := w.readable(abs); err != nil {
			if errors.Is(err, syscall.ENOENT) {
				return nil
			}
			return w.denied(rel, err)
		}
		if e.Xattrs, err = readXattrs(abs); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return w.denied(rel, err)
		}
	}
	w.m.Entries = append(w.m.Entries, e)
	return nil
}

// readable checks that a non-root mover may read the file abs.
func (w *walker) readable(abs string) error {
	if !w.checkRead {
		return nil
	}
	return syscall.Access(abs, rOK)
}

// readDirNames lists a directory's names, sorted bytewise.
func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// pathList quotes the first paths of count for a message, "..." standing for the rest.
func pathList(paths []string, count int) string {
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = strconv.Quote(p)
	}
	list := strings.Join(quoted, ", ")
	if count > len(paths) {
		list += ", ..."
	}
	return list
}
