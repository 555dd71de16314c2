package relationship

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
)

// Type is the kind of a relationship (the file's top-level "type").
type Type string

// The relationship types.
const (
	Replication Type = "replication"
	Migration   Type = "migration"
)

// Sentinel errors.
var (
	ErrExists   = errors.New("relationship exists")
	ErrNotFound = errors.New("relationship not found")
	ErrType     = errors.New("relationship is not of the correct type")
	ErrVersion  = errors.New("unsupported config file version")
	ErrName     = errors.New("invalid relationship name")
	ErrCorrupt  = errors.New("invalid relationship file")
)

const (
	// dirMode is the reference's mode for the config directory.
	dirMode fs.FileMode = 0o711
	// fileMode: the file names clusters and namespaces, nothing secret, but it is the user's.
	fileMode fs.FileMode = 0o600
	// ext is the relationship files' extension.
	ext = ".yaml"
)

// File is one relationship file.
type File struct {
	// Name is the relationship's name (the file's base name without .yaml).
	Name string
	// Path is the file.
	Path string
	// Type and ID are the file's type and id; ID labels every object of the relationship.
	Type Type
	ID   string
	// data is the file's "data" mapping, keys lower-cased.
	data map[string]any
}

// PathOf returns the file of relationship name in dir.
func PathOf(dir, name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w %q: use a plain file name (no slashes)", ErrName, name)
	}
	return filepath.Join(dir, name+ext), nil
}

// New returns a new relationship of type t with a fresh id, not yet saved. It fails with
// ErrExists when the file exists.
func New(dir, name string, t Type) (*File, error) {
	path, err := PathOf(dir, name)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("unable to create relationship %q: %w (%s); delete it first or choose another name", name, ErrExists, path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("checking %s: %w", path, err)
	}
	return &File{Name: name, Path: path, Type: t, ID: uuid.NewString(), data: map[string]any{}}, nil
}

// Load reads relationship name from dir and checks it is of type t.
func Load(dir, name string, t Type) (*File, error) {
	path, err := PathOf(dir, name)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q (no file %s; create it with \"kubectl volsync %s create -r %s\", or give --config-dir)", ErrNotFound, name, path, t, name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading relationship %q: %w", name, err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrCorrupt, path, err)
	}
	top = lower(top)
	f := &File{Name: name, Path: path, Type: Type(str(top["type"])), ID: str(top["id"])}
	if f.Type != t {
		return nil, fmt.Errorf("%w: %q is a %q relationship, not %q (%s)", ErrType, name, f.Type, t, path)
	}
	if _, err := uuid.Parse(f.ID); err != nil {
		return nil, fmt.Errorf("%w %s: id %q: %w", ErrCorrupt, path, f.ID, err)
	}
	if d, ok := top["data"].(map[string]any); ok {
		f.data = d
	} else {
		f.data = map[string]any{}
	}
	return f, nil
}

// Version returns data.version (0 when missing or not a number).
func (f *File) Version() int {
	v, _ := f.data["version"].(int)
	return v
}

// loadData reads the relationship name of type t: the data of version 1 is D's layout, that of
// version 2 (the reference's later layout) V's, converted by fromV2. Version 2 relationships
// over rsync-TLS are refused.
func loadData[D, V any](dir, name string, t Type, fromV2 func(*V) *D) (*File, *D, error) {
	f, err := Load(dir, name, t)
	if err != nil {
		return nil, nil, err
	}
	switch v := f.Version(); v {
	case 1:
		d := new(D)
		if err := f.Decode(d); err != nil {
			return nil, nil, err
		}
		return f, d, nil
	case 2:
		if tls, _ := f.data["isrsynctls"].(bool); tls {
			return nil, nil, fmt.Errorf("%w: relationship %q uses rsync-TLS, which this CLI does not support (only rsync over ssh)", ErrVersion, name)
		}
		v2 := new(V)
		if err := f.Decode(v2); err != nil {
			return nil, nil, err
		}
		return f, fromV2(v2), nil
	default:
		return nil, nil, fmt.Errorf("%w %d in %s (this CLI reads versions 1 and 2)", ErrVersion, v, f.Path)
	}
}

// Decode decodes the data mapping into out (a struct with lower-case yaml tags).
func (f *File) Decode(out any) error {
	raw, err := yaml.Marshal(f.data)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w %s: data: %w", ErrCorrupt, f.Path, err)
	}
	return nil
}

// SetData replaces the data mapping with in (a struct with lower-case yaml tags).
func (f *File) SetData(in any) error {
	raw, err := yaml.Marshal(in)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return err
	}
	f.data = m
	return nil
}

// encode renders the file as the reference writes it: one mapping, keys sorted.
func (f *File) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(4)
	if err := enc.Encode(map[string]any{"type": string(f.Type), "id": f.ID, "data": f.data}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Create writes a new file; it fails with ErrExists if one appeared since New.
func (f *File) Create() error {
	out, err := f.encode()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), dirMode); err != nil {
		return fmt.Errorf("creating the config directory: %w", err)
	}
	w, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("unable to create relationship %q: %w (%s)", f.Name, ErrExists, f.Path)
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", f.Path, err)
	}
	if _, err := w.Write(out); err != nil {
		_ = w.Close()
		_ = os.Remove(f.Path)
		return fmt.Errorf("writing %s: %w", f.Path, err)
	}
	if err := w.Close(); err != nil {
		_ = os.Remove(f.Path)
		return fmt.Errorf("writing %s: %w", f.Path, err)
	}
	return nil
}

// Save replaces the file atomically (a reader sees the old or the new file, never a part).
func (f *File) Save() error {
	out, err := f.encode()
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("creating the config directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+f.Name+"-*.tmp")
	if err != nil {
		return fmt.Errorf("saving relationship %q: %w", f.Name, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(out); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("saving relationship %q: %w", f.Name, err)
	}
	if err := tmp.Chmod(fileMode); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving relationship %q: %w", f.Name, err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return fmt.Errorf("saving relationship %q: %w", f.Name, err)
	}
	return nil
}

// Delete removes the file; a file already gone is not an error.
func (f *File) Delete() error {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting relationship file %s: %w", f.Path, err)
	}
	return nil
}

// lower returns m with every mapping key lower-cased, recursively: the reference's viper
// lower-cases keys when it reads, so a hand-edited "PVCName" works there and must work here.
func lower(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = lowerValue(v)
	}
	return out
}

func lowerValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return lower(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = lowerValue(x[i])
		}
		return out
	default:
		return v
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
