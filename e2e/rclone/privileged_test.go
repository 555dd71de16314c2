//go:build e2e

package rclone

import (
	"strings"
	"testing"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// chownTree gives a tree written by volume.WriteTree several owners, among them root, and
// private entries (0600, 0700) that only their owners (and root) read.
const chownTree = `
cd /data
chown 0:0 top.txt
chown -R 1234:5678 nested
chown -h 2000:3000 link-to-deep
chown -R 4321:8765 small/0
chown 65534:65534 big.bin
echo secret > secret.key
chown 1500:1500 secret.key
chmod 600 secret.key
mkdir private
echo inside > private/file
chown -R 1600:1700 private
chmod 700 private
`

// privilegedOwnership: in namespaces that allow privileged movers, files of several owners,
// some private, arrive with the same owners, groups and modes (and contents), read as root on
// both sides.
func privilegedOwnership(t *testing.T) {
	srcNS := namespace(t, "priv-src", true, plain)
	dstNS := namespace(t, "priv-dst", true, plain)
	create(t, volume.NewPVC(srcNS, "data", nil))
	volume.Run(t, srcNS, "data", "SMALL_FILES=50 BIG_MB=1 "+volume.WriteTree)
	volume.RunAsRoot(t, srcNS, "data", chownTree)
	want := volume.OwnershipDigest(t, srcNS, "data")
	plain.CreateBucket(t, "privileged")
	const path = "privileged/data"

	rs := src{newSource(srcNS, "src", "data", path, v1alpha1.CopyMethodSnapshot, "s1")}
	create(t, rs.ReplicationSource)
	rd := dst{newDestination(dstNS, "dst", path, "d1")}
	waitSynced(t, rs, "s1")
	create(t, rd.ReplicationDestination)
	waitSynced(t, rd, "d1")

	restored := scenario.Restore(t, rd.ReplicationDestination, "restore")
	if got := volume.OwnershipDigest(t, dstNS, restored); got != want {
		owners := volume.RunAsRoot(t, dstNS, restored, "cd /data; stat -c '%n %u:%g %a' top.txt nested link-to-deep small/0/f0 big.bin secret.key private private/file")
		t.Fatalf("ownership or contents not kept:\nsource   %s\nrestored %s\n%s", want, got, owners)
	}
	if out := volume.RunAsRoot(t, dstNS, restored, "stat -c '%u:%g %a' /data/secret.key"); !strings.Contains(out, "1500:1500 600") {
		t.Fatalf("secret.key arrived as %q, want 1500:1500 600", out)
	}
}
