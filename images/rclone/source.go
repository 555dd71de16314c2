package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/rclone/manifest"
)

// privilegedMoversAnnotation lets VolSync run movers as root (the controller's
// v1alpha1.PrivilegedMoversNamespaceAnnotation; this module has no dependencies).
const privilegedMoversAnnotation = "volsync.backube/privileged-movers"

// source uploads the volume: the manifest is written first (a walk of the volume), rclone
// syncs the regular files, then the manifest is uploaded last, so a destination that finds
// it finds the files it lists (unless this source runs again meanwhile).
func (m *job) source(ctx context.Context) (result.Result, error) {
	c := m.cfg
	t0 := time.Now()
	man, ws, err := manifest.Walk(c.DataDir, manifest.WalkOptions{ExcludeTop: []string{lostFound, rclone.Manifest}})
	if err != nil {
		return result.Result{}, walkFailure(err)
	}
	walked := time.Since(t0)
	local := filepath.Join(m.tmp, rclone.Manifest)
	size, err := writeManifest(local, man)
	if err != nil {
		return result.Result{}, err
	}
	m.log.Printf("Manifest: %d entries, %d bytes; walked in %.2fs, encoded in %.2fs", len(man.Entries), size, walked.Seconds(), (time.Since(t0) - walked).Seconds())
	if ws.Skipped > 0 {
		m.log.Printf("Skipped %d sockets, FIFOs and device files (not replicated)", ws.Skipped)
	}
	if ws.MountPoints > 0 {
		m.log.Printf("%d directories are mount points of other filesystems: replicated empty", ws.MountPoints)
	}

	run, err := m.rclone.Exec(ctx, syncArgs(c.DataDir, c.RemoteDir())...)
	if err != nil {
		return result.Result{}, err
	}
	if run.RC != 0 {
		return partial(run, man), failure(c, "uploading "+c.DataDir+" to "+c.Remote(), run)
	}
	t1 := time.Now()
	mrun, err := m.rclone.Exec(ctx, "copyto", local, c.ManifestRemote())
	if err != nil {
		return partial(run, man), err
	}
	if mrun.RC != 0 {
		return partial(run, man), failure(c, "uploading the manifest to "+c.ManifestRemote(), mrun)
	}
	m.log.Printf("Manifest uploaded in %.2fs (%d bytes sent)", time.Since(t1).Seconds(), mrun.Stats.Bytes)
	s := run.Stats
	return newResult(s.Bytes+mrun.Stats.Bytes, s.Transfers, s.Checks, s.Deletes+s.DeletedDirs, len(man.Entries)), nil
}

// partial is the result of a source that failed after rclone moved data.
func partial(run Run, man *manifest.Manifest) result.Result {
	s := run.Stats
	return newResult(s.Bytes, s.Transfers, s.Checks, s.Deletes+s.DeletedDirs, len(man.Entries))
}

// writeManifest encodes man into path and returns its size.
func writeManifest(path string, man *manifest.Manifest) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("writing the manifest: %w", err)
	}
	if err := manifest.Encode(f, man); err != nil {
		_ = f.Close()
		return 0, fmt.Errorf("writing the manifest: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return 0, fmt.Errorf("writing the manifest: %w", err)
	}
	return fi.Size(), nil
}

// walkFailure explains a walk of the source volume that failed.
func walkFailure(err error) error {
	var u *manifest.UnreadableError
	if !errors.As(err, &u) {
		return fmt.Errorf("reading the volume: %w", err)
	}
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("the mover (uid %d) %s; a non-root mover reads only what its uid, its groups or everyone may read "+
			"(directories must also be searchable): run it as the application's user (moverSecurityContext) "+
			"or allow privileged movers with the namespace annotation %s=\"true\"", uid, u.Error(), privilegedMoversAnnotation)
	}
	return fmt.Errorf("the mover (root) %s (e.g. an NFS export that squashes root)", u.Error())
}
