package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/fscopy"
)

// Volume is the metadata kept beside each volume directory in <data-dir>/volumes/<id>.json.
type Volume struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	CapacityBytes    int64             `json:"capacityBytes"`
	Parameters       map[string]string `json:"parameters,omitempty"`
	SourceVolumeID   string            `json:"sourceVolumeID,omitempty"`
	SourceSnapshotID string            `json:"sourceSnapshotID,omitempty"`
	CreatedAt        time.Time         `json:"createdAt"`
}

// Snapshot is the metadata kept beside each snapshot directory in <data-dir>/snapshots/<id>.json.
type Snapshot struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	SourceVolumeID string    `json:"sourceVolumeID"`
	SizeBytes      int64     `json:"sizeBytes"`
	CreatedAt      time.Time `json:"createdAt"`
}

// store keeps volumes and snapshots as directories under a data directory. The JSON metadata
// file is written last (atomically) and removed first, so it marks a complete object: a
// directory without one is garbage from an interrupted operation. IDs are derived from the
// CSI names, which makes CreateVolume/CreateSnapshot idempotent across restarts.
// Callers serialise mutations.
type store struct {
	root string
}

const (
	volumesDir   = "volumes"
	snapshotsDir = "snapshots"
	tmpPrefix    = ".tmp-"
)

func newStore(root string) (*store, error) {
	s := &store{root: root}
	for _, d := range []string{volumesDir, snapshotsDir} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, err
		}
		if err := s.collectGarbage(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// collectGarbage removes directories without metadata (left by a crash mid-operation).
func (s *store) collectGarbage(kind string) error {
	dir := filepath.Join(s.root, kind)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name()+".json")); errors.Is(err, fs.ErrNotExist) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func idFor(prefix, name string) string {
	sum := sha256.Sum256([]byte(name))
	return prefix + hex.EncodeToString(sum[:])[:32]
}

// validID rejects IDs that could escape the data directory.
func validID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, "/\x00") &&
		!strings.HasPrefix(id, tmpPrefix) && len(id) <= 200
}

func (s *store) dir(kind, id string) string  { return filepath.Join(s.root, kind, id) }
func (s *store) meta(kind, id string) string { return filepath.Join(s.root, kind, id+".json") }

// VolumePath is the directory that holds the volume's data.
func (s *store) VolumePath(id string) string { return s.dir(volumesDir, id) }

// SnapshotPath is the directory that holds the snapshot's data.
func (s *store) SnapshotPath(id string) string { return s.dir(snapshotsDir, id) }

func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("parse %s: %w", path, err)
	}
	return true, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), tmpPrefix+filepath.Base(path))
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
	return os.Rename(tmp, path)
}

// GetVolume returns the volume with the given ID, or nil if there is none.
func (s *store) GetVolume(id string) (*Volume, error) {
	if !validID(id) {
		return nil, nil
	}
	v := &Volume{}
	ok, err := readJSON(s.meta(volumesDir, id), v)
	if !ok || err != nil {
		return nil, err
	}
	return v, nil
}

// GetSnapshot returns the snapshot with the given ID, or nil if there is none.
func (s *store) GetSnapshot(id string) (*Snapshot, error) {
	if !validID(id) {
		return nil, nil
	}
	sn := &Snapshot{}
	ok, err := readJSON(s.meta(snapshotsDir, id), sn)
	if !ok || err != nil {
		return nil, err
	}
	return sn, nil
}

// fill creates the directory dst either empty (mode 0777, so pods of any user can write) or as
// a copy of src, building it under a temporary name and renaming it into place.
func fill(dst, src string) error {
	tmp := filepath.Join(filepath.Dir(dst), tmpPrefix+filepath.Base(dst))
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil { // an orphan without metadata
		return err
	}
	if src == "" {
		if err := os.Mkdir(tmp, 0o777); err != nil {
			return err
		}
		if err := os.Chmod(tmp, 0o777); err != nil { // not subject to the umask
			return err
		}
	} else if err := fscopy.CopyTree(src, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// CreateVolume creates the volume's directory (empty or copied from a volume or snapshot
// directory) and then its metadata.
func (s *store) CreateVolume(v *Volume, copyFrom string) error {
	if err := fill(s.VolumePath(v.ID), copyFrom); err != nil {
		return err
	}
	if err := writeJSON(s.meta(volumesDir, v.ID), v); err != nil {
		_ = os.RemoveAll(s.VolumePath(v.ID))
		return err
	}
	return nil
}

// DeleteVolume removes the metadata, then the data. Deleting a missing volume succeeds.
func (s *store) DeleteVolume(id string) error {
	if !validID(id) {
		return nil
	}
	if err := os.Remove(s.meta(volumesDir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(s.VolumePath(id))
}

// CreateSnapshot copies the source volume's directory and then writes the metadata.
func (s *store) CreateSnapshot(sn *Snapshot) error {
	if err := fill(s.SnapshotPath(sn.ID), s.VolumePath(sn.SourceVolumeID)); err != nil {
		return err
	}
	if err := writeJSON(s.meta(snapshotsDir, sn.ID), sn); err != nil {
		_ = os.RemoveAll(s.SnapshotPath(sn.ID))
		return err
	}
	return nil
}

// DeleteSnapshot removes the metadata, then the data. Deleting a missing snapshot succeeds.
func (s *store) DeleteSnapshot(id string) error {
	if !validID(id) {
		return nil
	}
	if err := os.Remove(s.meta(snapshotsDir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(s.SnapshotPath(id))
}

// ListSnapshots returns all snapshots ordered by creation time, then ID.
func (s *store) ListSnapshots() ([]*Snapshot, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, snapshotsDir))
	if err != nil {
		return nil, err
	}
	var out []*Snapshot
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, tmpPrefix) {
			continue
		}
		sn, err := s.GetSnapshot(strings.TrimSuffix(name, ".json"))
		if err != nil {
			return nil, err
		}
		if sn != nil {
			out = append(out, sn)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
