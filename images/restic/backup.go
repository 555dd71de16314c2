package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/images/contract/result"
)

// lostFound is the filesystem's directory at the top of a volume: never backed up, never
// deleted by a restore.
const lostFound = "lost+found"

// maxItems is how many unreadable paths a failure names.
const maxItems = 3

// backupSummary is restic's backup summary message.
type backupSummary struct {
	FilesNew        int64   `json:"files_new"`
	FilesChanged    int64   `json:"files_changed"`
	FilesUnmodified int64   `json:"files_unmodified"`
	DirsNew         int64   `json:"dirs_new"`
	DirsChanged     int64   `json:"dirs_changed"`
	DirsUnmodified  int64   `json:"dirs_unmodified"`
	DataAdded       int64   `json:"data_added"`
	DataAddedPacked int64   `json:"data_added_packed"`
	TotalFiles      int64   `json:"total_files_processed"`
	TotalBytes      int64   `json:"total_bytes_processed"`
	TotalDuration   float64 `json:"total_duration"`
	SnapshotID      string  `json:"snapshot_id"`
}

// backup backs the data volume up (initialising the repository on first use) and applies the
// retention policy. An empty volume is not backed up.
func (m *job) backup(ctx context.Context) error {
	c := m.cfg
	empty, err := isEmpty(c.DataDir)
	if err != nil {
		return err
	}
	if empty {
		m.say("source volume is empty: no snapshot taken")
		return nil
	}
	// Inside the data volume, as the reference did: the snapshots' paths are ".", so either
	// implementation restores the other's. No repository yet (restic exit 10, before it read
	// anything): initialise it and back up again.
	call := Call{Dir: c.DataDir, Args: []string{"backup", "--host", restic.Host, "--exclude", lostFound, "."}, Progress: "backup"}
	run, err := m.exec(ctx, "backup", call)
	if err == nil && run.RC == rcNoRepository {
		m.log.Printf("=== Initialize Dir === (no repository at %s yet)", c.Repository)
		if _, err := m.must(ctx, "initialising the repository", Call{Args: []string{"init"}}); err != nil {
			return err
		}
		run, err = m.exec(ctx, "backup", call)
	}
	if err != nil {
		return err
	}
	var s backupSummary
	if len(run.Summary) > 0 {
		if err := json.Unmarshal(run.Summary, &s); err == nil {
			m.backupResult(s)
		}
	}
	switch {
	case run.RC == rcIncomplete:
		return m.unreadable(run, s)
	case run.RC != 0:
		return classify(c, "backup", run)
	}
	if len(c.ForgetOptions) == 0 {
		m.log.Printf("No retention policy (%s is empty): every snapshot is kept", restic.EnvForgetOptions)
		return nil
	}
	m.log.Printf("Applying the retention policy: forget %s", strings.Join(c.ForgetOptions, " "))
	args := append([]string{"forget", "--host", restic.Host}, c.ForgetOptions...)
	run, err = m.must(ctx, "applying the retention policy", Call{Args: args, Quiet: true})
	if err != nil {
		return err
	}
	m.forgotten(run)
	return nil
}

// backupResult puts a backup's numbers into the result and the summary, in restic's words.
func (m *job) backupResult(s backupSummary) {
	r := &m.res
	r.FilesTransferred += s.FilesNew + s.FilesChanged
	r.BytesSent += s.DataAdded
	for k, v := range map[string]int64{restic.DetailFilesNew: s.FilesNew, restic.DetailFilesChanged: s.FilesChanged,
		restic.DetailFilesUnmodified: s.FilesUnmodified, restic.DetailBytesAdded: s.DataAdded} {
		r.Details[k] = strconv.FormatInt(v, 10)
	}
	m.say("Files:       %5d new, %5d changed, %5d unmodified", s.FilesNew, s.FilesChanged, s.FilesUnmodified)
	m.say("Dirs:        %5d new, %5d changed, %5d unmodified", s.DirsNew, s.DirsChanged, s.DirsUnmodified)
	m.say("Added to the repository: %s (%s stored)", humanBytes(s.DataAdded), humanBytes(s.DataAddedPacked))
	m.say("processed %d files, %s in %s", s.TotalFiles, humanBytes(s.TotalBytes), clock(s.TotalDuration))
	if s.SnapshotID != "" {
		r.Details[restic.DetailSnapshotID] = shortID(s.SnapshotID)
		m.say("snapshot %s saved", shortID(s.SnapshotID))
	}
}

// unreadable reports a backup that could not read some files.
func (m *job) unreadable(run *Run, s backupSummary) error {
	var items []string
	for _, it := range run.Items {
		if len(items) == maxItems {
			items = append(items, "...")
			break
		}
		items = append(items, m.inVolume(it))
	}
	what := "an incomplete snapshot"
	if s.SnapshotID != "" {
		what = "snapshot " + shortID(s.SnapshotID) + ", incomplete"
	}
	return userAction(restic.ReasonUnreadable, "backup could not read %d item(s) of the volume (%s): saved %s; the retention policy was not applied (older snapshots are kept)",
		len(run.Items), strings.Join(items, ", "), what)
}

// inVolume is a path restic reported, relative to the data volume (restic resolves the
// volume's symbolic links in the paths it reports).
func (m *job) inVolume(path string) string {
	rel, _ := m.volumePath(path)
	return rel
}

// volumePath is path relative to the data volume; ok is false for an absolute path outside
// it. A relative path is a snapshot's item.
func (m *job) volumePath(path string) (rel string, ok bool) {
	dirs := []string{m.cfg.DataDir}
	if real, err := filepath.EvalSymlinks(m.cfg.DataDir); err == nil && real != m.cfg.DataDir {
		dirs = append(dirs, real)
	}
	for _, d := range dirs {
		if path == d {
			return ".", true
		}
		if rel, ok := strings.CutPrefix(path, d+"/"); ok {
			return rel, true
		}
	}
	if rel = strings.TrimPrefix(strings.TrimPrefix(path, "./"), "/"); rel == "" {
		rel = "."
	}
	return rel, !filepath.IsAbs(path)
}

// forgotten logs what `restic forget --json` kept and removed.
func (m *job) forgotten(run *Run) {
	var groups []struct {
		Keep   []json.RawMessage `json:"keep"`
		Remove []json.RawMessage `json:"remove"`
	}
	if json.Unmarshal([]byte(strings.Join(run.Stdout, "\n")), &groups) != nil {
		return
	}
	kept, removed := 0, 0
	for _, g := range groups {
		kept, removed = kept+len(g.Keep), removed+len(g.Remove)
	}
	m.log.Printf("Retention policy: %d snapshot(s) kept, %d removed", kept, removed)
}

// humanBytes is n in binary units, as restic prints sizes.
func humanBytes(n int64) string { return result.FormatBytes(n, 3) }

// clock is a duration as restic prints it (m:ss).
func clock(seconds float64) string {
	s := int(seconds + 0.5)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
