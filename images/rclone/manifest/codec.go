package manifest

import (
	"bufio"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The encoded form: gzip of JSON lines. The first line is a header, then one line per entry:
//
//	{"volsyncRcloneManifest":1,"entries":3}
//	{"p":".","t":"d","m":493,"u":0,"g":0,"mt":1614834367123456789}
//	{"p":"a.txt","t":"f","m":420,"u":1001,"g":1001,"mt":1614834367123456789,"s":5,"x":{"user.k":"dg=="}}
//	{"p":"link","t":"l","m":511,"u":0,"g":0,"mt":1614834367123456789,"l":"a.txt"}
//
// A path or symlink target that is not valid UTF-8 goes base64-encoded in "pb" or "lb"
// instead; an attribute name that is not, as "b64:" and its base64 (real names start with a
// namespace such as "user."). Attribute values are always base64 (JSON byte strings). Keys are
// short: a manifest holds one line per entry of the volume.

type header struct {
	Version int   `json:"volsyncRcloneManifest"`
	Entries int64 `json:"entries"`
}

type line struct {
	P  string            `json:"p,omitempty"`
	PB []byte            `json:"pb,omitempty"`
	T  Type              `json:"t"`
	M  uint32            `json:"m"`
	U  uint32            `json:"u"`
	G  uint32            `json:"g"`
	MT int64             `json:"mt"`
	S  int64             `json:"s,omitempty"`
	L  string            `json:"l,omitempty"`
	LB []byte            `json:"lb,omitempty"`
	X  map[string][]byte `json:"x,omitempty"`
}

const b64Name = "b64:"

// maxLine bounds one encoded entry (a path, a target and attributes of at most 64 KiB each).
const maxLine = 1 << 20

// Encode writes m to w (gzip'ed JSON lines). The output depends only on m: the same volume
// gives the same bytes, so an unchanged manifest is not uploaded again.
func Encode(w io.Writer, m *Manifest) error {
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriterSize(zw, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(header{Version: Version, Entries: int64(len(m.Entries))}); err != nil {
		return err
	}
	for _, e := range m.Entries {
		if err := enc.Encode(toLine(e)); err != nil {
			return fmt.Errorf("encoding %q: %w", e.Path, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// Decode reads a manifest written by Encode and checks it (Manifest.Index). A manifest cut
// short fails (gzip checksum, entry count).
func Decode(r io.Reader) (*Manifest, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("manifest is not gzip data: %w", err)
	}
	defer func() { _ = zr.Close() }()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	if !sc.Scan() {
		return nil, fmt.Errorf("manifest is empty: %w", scanErr(sc))
	}
	var h header
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return nil, fmt.Errorf("manifest header: %w", err)
	}
	if h.Version != Version {
		return nil, fmt.Errorf("manifest format %d is not supported (this mover reads format %d): update the destination's mover", h.Version, Version)
	}
	m := &Manifest{Entries: make([]Entry, 0, min(h.Entries, 1<<20))}
	var l line
	for sc.Scan() {
		if l = (line{}); !parseLine(sc.Bytes(), &l) {
			l = line{}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				return nil, fmt.Errorf("manifest line %d: %w", len(m.Entries)+2, err)
			}
		}
		e, err := fromLine(l)
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: %w", len(m.Entries)+2, err)
		}
		m.Entries = append(m.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	if int64(len(m.Entries)) != h.Entries {
		return nil, fmt.Errorf("manifest has %d entries, its header says %d", len(m.Entries), h.Entries)
	}
	if err := m.Index(); err != nil {
		return nil, err
	}
	return m, nil
}

func scanErr(sc *bufio.Scanner) error {
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

func toLine(e Entry) line {
	l := line{T: e.Type, M: e.Mode, U: e.UID, G: e.GID, MT: e.MTime, S: e.Size}
	if utf8.ValidString(e.Path) {
		l.P = e.Path
	} else {
		l.PB = []byte(e.Path)
	}
	if utf8.ValidString(e.Target) {
		l.L = e.Target
	} else {
		l.LB = []byte(e.Target)
	}
	if len(e.Xattrs) > 0 {
		l.X = make(map[string][]byte, len(e.Xattrs))
		for name, v := range e.Xattrs {
			if !utf8.ValidString(name) {
				name = b64Name + base64.StdEncoding.EncodeToString([]byte(name))
			}
			if v == nil {
				v = []byte{}
			}
			l.X[name] = v
		}
	}
	return l
}

func fromLine(l line) (Entry, error) {
	e := Entry{Path: l.P, Type: l.T, Mode: l.M, UID: l.U, GID: l.G, MTime: l.MT, Size: l.S, Target: l.L}
	if l.PB != nil {
		e.Path = string(l.PB)
	}
	if l.LB != nil {
		e.Target = string(l.LB)
	}
	if len(l.X) > 0 {
		e.Xattrs = make(map[string][]byte, len(l.X))
		for name, v := range l.X {
			if rest, ok := strings.CutPrefix(name, b64Name); ok {
				b, err := base64.StdEncoding.DecodeString(rest)
				if err != nil {
					return e, errors.New("bad attribute name encoding")
				}
				name = string(b)
			}
			e.Xattrs[name] = v
		}
	}
	return e, nil
}
