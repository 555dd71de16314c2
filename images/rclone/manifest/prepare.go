package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// DestOptions configure the destination side (Prepare and Apply).
type DestOptions struct {
	// KeepTop are names at the top of the volume that are left alone (lost+found: the
	// filesystem's, never replicated, never removed).
	KeepTop []string
	// Privileged: set ownership. Otherwise every entry belongs to the mover's user.
	Privileged bool
	// NothingAdded tells Apply that nothing was created in the volume since Prepare (rclone
	// transferred no file), so there is nothing new to remove: it skips that walk.
	NothingAdded bool
}

func (o DestOptions) keep(rel string) bool {
	for _, n := range o.KeepTop {
		if rel == n {
			return true
		}
	}
	return false
}

// Prepare readies the volume at root for rclone's copy of the files in m: it removes what m
// does not list and what has another type in m (a file where m has a directory, a directory
// where m has a symlink ...), and makes the directories it keeps owner-writable and
// searchable, so rclone can write into them. It returns how many entries it removed.
func Prepare(root string, m *Manifest, o DestOptions) (int, error) {
	root = filepath.Clean(root)
	st, err := lstat(root)
	if err != nil {
		return 0, err
	}
	if st.typ != Dir {
		return 0, errors.New(root + " is not a directory")
	}
	// The root may belong to another user (kubelet's): then the mover can only write into it
	// if its mode allows, and rclone says so.
	if err := ownerRWX(root, st); err != nil && !permissionError(err) {
		return 0, err
	}
	return prune(root, Root, m, o)
}

// prune removes the entries of directory rel (at abs) that m does not list with the same type
// and recurses into the directories it keeps, making them owner-writable and searchable.
func prune(abs, rel string, m *Manifest, o DestOptions) (int, error) {
	entries, err := os.ReadDir(abs)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, d := range entries {
		crel, cabs := d.Name(), abs+"/"+d.Name()
		if rel != Root {
			crel = rel + "/" + d.Name()
		} else if o.keep(crel) {
			continue
		}
		want, ok := m.Lookup(crel)
		typ := typeOf(d.Type())
		if !ok || want.Type != typ {
			n, err := removeAll(cabs)
			removed += n
			if err != nil {
				return removed, err
			}
			continue
		}
		if typ != Dir {
			continue
		}
		st, err := lstat(cabs)
		if err != nil {
			return removed, err
		}
		if err := ownerRWX(cabs, st); err != nil {
			return removed, err
		}
		n, err := prune(cabs, crel, m, o)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// typeOf maps a directory entry's type bits to a manifest type ("" for what it does not record).
func typeOf(mode os.FileMode) Type {
	switch {
	case mode.IsDir():
		return Dir
	case mode.IsRegular():
		return File
	case mode&os.ModeSymlink != 0:
		return Symlink
	}
	return ""
}

// permissionError reports EPERM or EACCES.
func permissionError(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES)
}
