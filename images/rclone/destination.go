package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/proc"
	"github.com/volsync-go/volsync/images/rclone/manifest"
)

// destination downloads the volume: the manifest first (none: nothing to do yet), then the
// volume is prepared for rclone, rclone syncs the regular files, and the manifest restores
// the rest and checks the files.
func (m *job) destination(ctx context.Context) (result.Result, error) {
	c := m.cfg
	t0 := time.Now()
	man, mrun, err := m.fetchManifest(ctx)
	if errors.Is(err, errNoManifest) {
		why := fmt.Sprintf("no data from a source yet at %s", c.Remote())
		m.log.Printf("%s (no %s): nothing to do until a source has uploaded", why, rclone.Manifest)
		return result.Result{Outcome: result.OutcomeWaiting, Error: why}, nil
	}
	if err != nil {
		return result.Result{}, err
	}
	m.log.Printf("Manifest fetched and decoded in %.2fs: %d entries, %d bytes", time.Since(t0).Seconds(), len(man.Entries), mrun.Stats.Bytes)
	t0 = time.Now()
	opts := manifest.DestOptions{KeepTop: []string{lostFound}, Privileged: c.Privileged}
	removed, err := manifest.Prepare(c.DataDir, man, opts)
	if err != nil {
		return result.Result{}, fmt.Errorf("preparing the volume: %w", err)
	}
	m.log.Printf("Volume prepared in %.2fs: %d entries removed", time.Since(t0).Seconds(), removed)
	run, err := m.rclone.Exec(ctx, syncArgs(c.RemoteDir(), c.DataDir)...)
	if err != nil {
		return result.Result{}, err
	}
	s := run.Stats
	deletes := int64(removed) + s.Deletes + s.DeletedDirs
	r := newResult(s.Bytes+mrun.Stats.Bytes, s.Transfers, s.Checks, deletes, len(man.Entries))
	if run.RC != 0 {
		return r, failure(c, "downloading "+c.Remote()+" to "+c.DataDir, run)
	}
	t0 = time.Now()
	opts.NothingAdded = s.Transfers == 0 && run.HasStats
	as, err := manifest.Apply(c.DataDir, man, opts)
	var inc *manifest.IncompleteError
	if errors.As(err, &inc) {
		return r, fmt.Errorf("the data at %s changed during this sync: %w", c.Remote(), err)
	}
	if err != nil {
		return r, fmt.Errorf("applying the manifest: %w", err)
	}
	deletes += int64(as.Removed)
	r.Details[rclone.DetailDeletes] = fmt.Sprint(deletes)
	m.log.Printf("Manifest applied in %.2fs: %d entries, %d created, %d updated, %d removed", time.Since(t0).Seconds(), len(man.Entries), as.Created, as.Updated, as.Removed)
	if as.RootKept {
		m.log.Printf("The volume's top directory belongs to another user: its mode, attributes and time were left as they are")
	}
	if as.XattrsUnsupported {
		m.log.Printf("The destination filesystem does not support extended attributes: ACLs and user attributes were not set")
	}
	if err := proc.SyncFS(c.DataDir); err != nil {
		return r, err
	}
	return r, nil
}

// errNoManifest: the remote path has no manifest (no source has completed an upload there).
var errNoManifest = errors.New("no manifest")

// fetchManifest downloads and decodes the manifest. A remote path without one is
// errNoManifest; a missing bucket, refused credentials and the like are failures.
func (m *job) fetchManifest(ctx context.Context) (*manifest.Manifest, Run, error) {
	c := m.cfg
	local := filepath.Join(m.tmp, rclone.Manifest)
	// copyto copies the object when it exists; when it does not, rclone takes the name for a
	// directory, finds nothing in it and succeeds without a file; when the listing itself
	// fails with "directory not found" (exit 3), the bucket or directory is missing.
	run, err := m.rclone.Exec(ctx, "copyto", c.ManifestRemote(), local)
	if err != nil {
		return nil, run, err
	}
	switch {
	case run.RC == rcloneDirNotFound || run.RC == rcloneFileNotFound:
		if err := m.checkBucket(ctx); err != nil {
			return nil, run, err
		}
		return nil, run, errNoManifest
	case run.RC != 0:
		return nil, run, failure(c, "fetching the manifest "+c.ManifestRemote(), run)
	}
	f, err := os.Open(local)
	if errors.Is(err, os.ErrNotExist) {
		return nil, run, errNoManifest
	}
	if err != nil {
		return nil, run, err
	}
	defer func() { _ = f.Close() }()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, run, errNoManifest // objects below a "directory" of the manifest's name
	}
	man, err := manifest.Decode(f)
	if err != nil {
		return nil, run, fmt.Errorf("the manifest %s is unusable (written by a newer mover, or damaged; the next source sync rewrites it): %w", c.ManifestRemote(), err)
	}
	return man, run, nil
}

// checkBucket runs when listing the remote path found no directory. On an object store a
// missing prefix lists as empty, so "directory not found" means the bucket is missing, or that
// the store answered 404 for another reason (versitygw does for an unknown access key): the
// list of buckets tells. On a filesystem-like remote (SFTP, local ...) it means no source has
// created the directory yet.
func (m *job) checkBucket(ctx context.Context) error {
	c := m.cfg
	what := "fetching the manifest " + c.ManifestRemote()
	run, err := m.rclone.Exec(ctx, "backend", "features", c.Section+":")
	if err != nil {
		return err
	}
	var f struct {
		Features struct{ BucketBased bool }
	}
	if run.RC != 0 || json.Unmarshal([]byte(strings.Join(run.Stdout, "\n")), &f) != nil {
		return failure(c, "reading the features of section "+c.Section, run)
	}
	if !f.Features.BucketBased {
		return nil
	}
	if run, err = m.rclone.Exec(ctx, "lsjson", "--stat", c.Section+":"+c.Bucket()); err != nil || run.RC == 0 {
		return err // the bucket exists: nothing uploaded yet
	}
	if run.RC != rcloneDirNotFound {
		return failure(c, what, run)
	}
	buckets, err := m.rclone.Exec(ctx, "lsjson", "--dirs-only", "--max-depth", "1", c.Section+":")
	if err != nil {
		return err
	}
	var list []struct{ Name string }
	if buckets.RC == 0 && json.Unmarshal([]byte(strings.Join(buckets.Stdout, "\n")), &list) == nil {
		for _, b := range list {
			if b.Name == c.Bucket() {
				return nil
			}
		}
		return fmt.Errorf("%s: %s", what, noBucketReason(c))
	}
	if cause := classify(c, buckets); cause != "" && !strings.Contains(cause, "(AccessDenied)") {
		return fmt.Errorf("%s: %s", what, cause)
	}
	// Keys that may not list buckets: the bucket is missing or out of their reach.
	return fmt.Errorf("%s: %s (or the credentials of section %q may not see it)", what, noBucketReason(c), c.Section)
}
