package manifest

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
)

// The attributes a manifest carries: POSIX ACLs and the user namespace. Other namespaces
// (security.*, trusted.*) are the node's or the filesystem's, not the application's.
const (
	ACLAccess  = "system.posix_acl_access"
	ACLDefault = "system.posix_acl_default"
	userPrefix = "user."
)

// Carried reports whether the manifest records attribute name.
func Carried(name string) bool {
	return name == ACLAccess || name == ACLDefault || strings.HasPrefix(name, userPrefix)
}

// unsupported reports an error saying the filesystem has no extended attributes.
func unsupported(err error) bool {
	return errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}

// readXattrs returns the carried attributes of p (a file or directory; followed if a symlink,
// so callers pass no symlinks). A filesystem without attributes has none.
func readXattrs(p string) (map[string][]byte, error) {
	names, err := listXattrs(p)
	if err != nil {
		if unsupported(err) {
			return nil, nil
		}
		return nil, err
	}
	var out map[string][]byte
	for _, name := range names {
		if !Carried(name) {
			continue
		}
		v, err := getXattr(p, name)
		if errors.Is(err, syscall.ENODATA) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string][]byte{}
		}
		out[name] = v
	}
	return out, nil
}

// listXattrs lists every attribute name of p, growing the buffer while the list grows. Most
// entries have none: that case allocates nothing.
func listXattrs(p string) ([]string, error) {
	var small [512]byte
	buf := small[:]
	for {
		n, err := syscall.Listxattr(p, buf)
		if errors.Is(err, syscall.ERANGE) {
			if n, err = syscall.Listxattr(p, nil); err != nil {
				return nil, err
			}
			buf = make([]byte, n+1024)
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		return strings.Split(strings.TrimSuffix(string(buf[:n]), "\x00"), "\x00"), nil
	}
}

// getXattr reads one attribute, growing the buffer as needed.
func getXattr(p, name string) ([]byte, error) {
	size := 256
	for {
		buf := make([]byte, size)
		n, err := syscall.Getxattr(p, name, buf)
		if errors.Is(err, syscall.ERANGE) {
			if n, err = syscall.Getxattr(p, name, nil); err != nil {
				return nil, err
			}
			size = n + 256
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// syncXattrs makes the carried attributes of p equal want. It returns whether it changed any.
func syncXattrs(p string, want map[string][]byte) (bool, error) {
	have, err := readXattrs(p)
	if err != nil {
		return false, err
	}
	changed := false
	for name, v := range want {
		if cur, ok := have[name]; ok && bytes.Equal(cur, v) {
			continue
		}
		if err := syscall.Setxattr(p, name, v, 0); err != nil {
			return changed, &xattrError{op: "setting", name: name, err: err}
		}
		changed = true
	}
	for name := range have {
		if _, ok := want[name]; ok {
			continue
		}
		if err := syscall.Removexattr(p, name); err != nil && !errors.Is(err, syscall.ENODATA) {
			return changed, &xattrError{op: "removing", name: name, err: err}
		}
		changed = true
	}
	return changed, nil
}

type xattrError struct {
	op, name string
	err      error
}

func (e *xattrError) Error() string { return e.op + " attribute " + e.name + ": " + e.err.Error() }
func (e *xattrError) Unwrap() error { return e.err }
