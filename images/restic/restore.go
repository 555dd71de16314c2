package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/images/internal/proc"
)

// Snapshot is one of `restic snapshots --json`.
type Snapshot struct {
	ID       string    `json:"id"`
	ShortID  string    `json:"short_id"`
	Time     time.Time `json:"time"`
	Paths    []string  `json:"paths"`
	Hostname string    `json:"hostname"`
}

// restoreSummary is restic's restore summary message.
type restoreSummary struct {
	TotalFiles    int64 `json:"total_files"`
	FilesRestored int64 `json:"files_restored"`
	FilesSkipped  int64 `json:"files_skipped"`
	FilesDeleted  int64 `json:"files_deleted"`
	TotalBytes    int64 `json:"total_bytes"`
	BytesRestored int64 `json:"bytes_restored"`
	BytesSkipped  int64 `json:"bytes_skipped"`
}

// selectSnapshot picks the snapshot to restore: the newest taken at or before asOf (zero:
// any), after skipping previous newer ones. ok is false when none is eligible.
func selectSnapshot(snaps []Snapshot, asOf time.Time, previous int) (Snapshot, bool) {
	s := append([]Snapshot{}, snaps...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Time.After(s[j].Time) })
	var eligible []Snapshot
	for _, sn := range s {
		if asOf.IsZero() || !sn.Time.After(asOf) {
			eligible = append(eligible, sn)
		}
	}
	if previous >= len(eligible) {
		return Snapshot{}, false
	}
	return eligible[previous], true
}

// restore restores the selected snapshot into the data volume. A missing or empty repository,
// or no eligible snapshot, restores nothing and succeeds; the repository is not created.
func (m *job) restore(ctx context.Context) error {
	c := m.cfg
	m.res.Details[restic.DetailRestored] = ""
	run, ok, err := m.open(ctx, "listing the snapshots", Call{Args: []string{"snapshots", "--host", restic.Host}, Quiet: true})
	if err != nil {
		return err
	}
	if !ok {
		m.nothingRestored()
		return nil
	}
	var snaps []Snapshot
	if err := json.Unmarshal([]byte(strings.Join(run.Stdout, "\n")), &snaps); err != nil {
		return fmt.Errorf("listing the snapshots: reading restic's output: %w", err)
	}
	m.log.Printf("%d snapshot(s) of host %s; as of %s, previous %d", len(snaps), restic.Host, asOfText(c.RestoreAsOf), c.SelectPrevious)
	sn, ok := selectSnapshot(snaps, c.RestoreAsOf, c.SelectPrevious)
	if !ok {
		m.nothingRestored()
		return nil
	}
	if len(c.RestoreOptions) > 0 {
		m.say("RESTORE_OPTIONS: %s", strings.Join(c.RestoreOptions, " "))
	}
	m.say("restoring snapshot %s of %v at %s to %s", sn.ShortID, sn.Paths, sn.Time.UTC().Format(time.RFC3339), c.DataDir)
	args := []string{"restore", sn.ID, "--target", ".", "--host", restic.Host, "--include-xattr", "user.*", "--exclude", "/" + lostFound}
	what := "restoring snapshot " + sn.ShortID
	run, err = m.exec(ctx, what, Call{Dir: c.DataDir, Args: append(args, c.RestoreOptions...), Progress: "restore"})
	if err != nil {
		return err
	}
	if run.RC != 0 {
		if denied := m.deniedInVolume(run); len(denied) > 0 {
			return m.unwritable(what, denied)
		}
		return classify(c, what, run)
	}
	var s restoreSummary
	if len(run.Summary) > 0 && json.Unmarshal(run.Summary, &s) == nil {
		m.res.FilesTransferred, m.res.BytesSent = s.FilesRestored, s.BytesRestored
		m.say("Summary: Restored %d / %d files/dirs (%s / %s), %d skipped, %d deleted", s.FilesRestored, s.TotalFiles,
			humanBytes(s.BytesRestored), humanBytes(s.TotalBytes), s.FilesSkipped, s.FilesDeleted)
	}
	if err := proc.SyncFS(c.DataDir); err != nil {
		return err
	}
	m.res.Details[restic.DetailRestored] = sn.ShortID
	return nil
}

// unwritable reports a restore that could not write, create or delete some files of the
// volume: running the same mover again cannot help.
func (m *job) unwritable(what string, denied []string) error {
	items := denied
	if len(items) > maxItems {
		items = append(items[:maxItems:maxItems], "...")
	}
	return userAction(restic.ReasonUnwritable, "%s: permission denied: the mover (uid %d) could not write or delete %d item(s) of the volume: %s; "+
		"run the mover as the files' owner (spec.restic.moverSecurityContext) or allow privileged movers "+
		`(namespace annotation volsync.backube/privileged-movers: "true")`,
		what, os.Geteuid(), len(denied), strings.Join(items, ", "))
}

// deniedInVolume are the items of the data volume restic could not write, create or delete,
// with how ("dir/file (unlinkat: permission denied)"); those outside it (the repository, the
// cache) are other failures.
func (m *job) deniedInVolume(run *Run) []string {
	var out []string
	for _, d := range run.Denied {
		if rel, ok := m.volumePath(d.Path); ok {
			out = append(out, fmt.Sprintf("%s (%s)", rel, d.Cause))
		}
	}
	return out
}

func (m *job) nothingRestored() {
	m.say("No eligible snapshots found")
	m.say("=== No data will be restored ===")
}

func asOfText(t time.Time) string {
	if t.IsZero() {
		return "now"
	}
	return t.UTC().Format(time.RFC3339)
}
