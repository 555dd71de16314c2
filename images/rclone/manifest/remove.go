package manifest

import (
	"errors"
	"os"
	"syscall"
)

// removeAll removes p and everything below it, making directories owner-writable and
// searchable first (a non-root mover owns them but a copied mode may forbid writing). It
// returns how many entries it removed.
func removeAll(p string) (int, error) {
	st, err := lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if st.typ != Dir {
		if err := syscall.Unlink(p); err != nil && !errors.Is(err, syscall.ENOENT) {
			return 0, &os.PathError{Op: "unlink", Path: p, Err: err}
		}
		return 1, nil
	}
	if err := ownerRWX(p, st); err != nil {
		return 0, err
	}
	names, err := readDirNames(p)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		c, err := removeAll(p + "/" + name)
		n += c
		if err != nil {
			return n, err
		}
	}
	if err := syscall.Rmdir(p); err != nil && !errors.Is(err, syscall.ENOENT) {
		return n, &os.PathError{Op: "rmdir", Path: p, Err: err}
	}
	return n + 1, nil
}

// ownerRWX gives the directory p (lstat st) owner read, write and search permission when it
// lacks any, so that entries can be listed, created and removed in it.
func ownerRWX(p string, st stat) error {
	if st.mode&0o700 == 0o700 {
		return nil
	}
	return chmod(p, st.mode|0o700)
}
