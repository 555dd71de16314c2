package manifest

import (
	"fmt"
	"path"
	"strings"
)

// Type is the kind of a manifest entry.
type Type string

// Kinds of entries. Sockets, FIFOs and device files are not recorded (not replicated).
const (
	Dir     Type = "d"
	File    Type = "f"
	Symlink Type = "l"
)

// Root is the path of the volume's top directory in a Manifest.
const Root = "."

// Version is the manifest format this package writes and reads.
const Version = 1

// Entry is one path of the volume.
type Entry struct {
	// Path is relative to the volume, "/"-separated, Root for the volume itself. Any bytes but
	// NUL (Linux file names need not be UTF-8).
	Path string
	Type Type
	// Mode is the permission bits with setuid, setgid and sticky (07777).
	Mode uint32
	UID  uint32
	GID  uint32
	// MTime is the modification time in nanoseconds since the epoch.
	MTime int64
	// Size is a regular file's size in bytes.
	Size int64
	// Target is a symlink's value, verbatim.
	Target string
	// Xattrs are the user.* extended attributes and the POSIX ACLs (system.posix_acl_access,
	// system.posix_acl_default) of a file or directory, by name.
	Xattrs map[string][]byte
}

// Manifest is a volume's entries in walk order: every directory before what it holds.
type Manifest struct {
	Entries []Entry
	// index maps a path to its position in Entries (built by Index).
	index map[string]int
}

// Index builds the path lookup and checks the entries: paths clean, relative and unique, the
// root first and a directory, every other entry's parent a directory listed before it. A
// manifest from an object store is checked before it changes a volume.
func (m *Manifest) Index() error {
	m.index = make(map[string]int, len(m.Entries))
	for i, e := range m.Entries {
		if err := checkEntry(e); err != nil {
			return fmt.Errorf("manifest entry %d: %w", i, err)
		}
		if i == 0 {
			if e.Path != Root || e.Type != Dir {
				return fmt.Errorf("manifest entry 0 must be the root directory, not %q", e.Path)
			}
		} else {
			if e.Path == Root {
				return fmt.Errorf("manifest entry %d: root listed twice", i)
			}
			p, ok := m.index[parent(e.Path)]
			if !ok || m.Entries[p].Type != Dir {
				return fmt.Errorf("manifest entry %d (%q): its directory is not listed before it", i, e.Path)
			}
		}
		if _, dup := m.index[e.Path]; dup {
			return fmt.Errorf("manifest entry %d: %q listed twice", i, e.Path)
		}
		m.index[e.Path] = i
	}
	if len(m.Entries) == 0 {
		return fmt.Errorf("manifest has no entries")
	}
	return nil
}

// Lookup returns the entry of path rel.
func (m *Manifest) Lookup(rel string) (Entry, bool) {
	i, ok := m.index[rel]
	if !ok {
		return Entry{}, false
	}
	return m.Entries[i], true
}

func checkEntry(e Entry) error {
	switch e.Type {
	case Dir, File, Symlink:
	default:
		return fmt.Errorf("%q: unknown type %q", e.Path, e.Type)
	}
	if e.Mode&^0o7777 != 0 {
		return fmt.Errorf("%q: mode %o has more than permission bits", e.Path, e.Mode)
	}
	if e.Size < 0 || (e.Type != File && e.Size != 0) {
		return fmt.Errorf("%q: bad size %d", e.Path, e.Size)
	}
	if e.Type == Symlink && (e.Target == "" || strings.IndexByte(e.Target, 0) >= 0) {
		return fmt.Errorf("%q: bad symlink target", e.Path)
	}
	if e.Path == Root {
		return nil
	}
	if e.Path == "" || strings.IndexByte(e.Path, 0) >= 0 || strings.HasPrefix(e.Path, "/") ||
		path.Clean(e.Path) != e.Path || e.Path == ".." || strings.HasPrefix(e.Path, "../") {
		return fmt.Errorf("%q is not a clean relative path", e.Path)
	}
	for name := range e.Xattrs {
		if !Carried(name) {
			return fmt.Errorf("%q: attribute %q is not one the manifest carries", e.Path, name)
		}
	}
	return nil
}

// parent is the directory holding rel (Root for a top-level entry).
func parent(rel string) string {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return Root
	}
	return rel[:i]
}
