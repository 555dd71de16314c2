//go:build e2e

package restic

import (
	"fmt"
	"strings"
	"testing"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// privileged: in namespaces that allow privileged movers, files of several owners, some
// private (0600, 0700), are backed up and restored (Direct, into the user's PVC) with the same
// owners, groups and modes, read as root on both sides.
func privileged(t *testing.T) {
	srcNS, dstNS := s3Case(t, "privileged", plain, true)
	volume.FillOwned(t, srcNS, "data")
	volume.RunAsRoot(t, srcNS, "data", "cd /data; chown 0:0 top.txt; chown -R 2000:3000 nested; chown -h 65534:65534 link-to-deep")
	want := volume.OwnershipDigest(t, srcNS, "data")

	rs := newSource(srcNS, "src", "data", v1alpha1.CopyMethodSnapshot, manual("b1"))
	create(t, rs)
	backup(t, rs, "b1")
	create(t, volume.NewPVC(dstNS, "mine", nil))
	restoreDirect(t, intoPVC(newDestination(dstNS, "dst", "r1"), "mine"), restoredLogs)

	if got := volume.OwnershipDigest(t, dstNS, "mine"); got != want {
		owners := volume.RunAsRoot(t, dstNS, "mine", "cd /data; stat -c '%n %u:%g %a' top.txt nested link-to-deep big.bin secret.key private private/file")
		t.Fatalf("ownership or contents not kept:\nsource   %s\nrestored %s\n%s", want, got, owners)
	}
	if out := volume.RunAsRoot(t, dstNS, "mine", "stat -c '%u:%g %a' /data/secret.key /data/top.txt"); !strings.Contains(out, fmt.Sprintf("%d:%d 600", volume.OwnerUID, volume.OwnerGID)) || !strings.Contains(out, "0:0 644") {
		t.Fatalf("secret.key and top.txt arrived as %q, want %d:%d 600 and 0:0 644", out, volume.OwnerUID, volume.OwnerGID)
	}
}
