//go:build e2e

package rclone

import (
	"testing"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// The trees compare with volume.DigestSeparateLinks: through an object store hard links
// arrive as separate files with the same contents (images/rclone; the reference's rclone mover
// does the same); everything else of the tree (paths, types, modes, times, contents, symlink
// targets, empty directories) must arrive as it was.

// fill creates the application's PVC "data" in ns, fills it with volume.WriteTree (env sets
// its size) as the application's user, and returns its digest.
func fill(t *testing.T, ns, env string) string {
	t.Helper()
	create(t, volume.NewPVC(ns, "data", nil))
	volume.Run(t, ns, "data", env+volume.WriteTree)
	return volume.DigestSeparateLinks(t, ns, "data")
}

// change applies volume.ChangeTree to the PVC "data" in ns and returns its new digest.
func change(t *testing.T, ns string) string {
	t.Helper()
	volume.Run(t, ns, "data", volume.ChangeTree)
	return volume.DigestSeparateLinks(t, ns, "data")
}

// expectRestored restores rd's latestImage as the PVC name and fails the test unless its
// digest is want; it returns the restored PVC's name.
func expectRestored(t *testing.T, rd *v1alpha1.ReplicationDestination, name, want, what string) string {
	t.Helper()
	pvc := scenario.Restore(t, rd, name)
	if got := volume.DigestSeparateLinks(t, rd.Namespace, pvc); got != want {
		t.Fatalf("restored tree (%s) in %s differs:\nsource   %s\nrestored %s", what, rd.Namespace, want, got)
	}
	return pvc
}
