//go:build e2e

package syncthing

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// tree is what the cases write: nested directories, an empty one, a symlink, small files and
// a 1 MiB one (run in /data by node.write).
const tree = `
mkdir -p docs/a/b/c media empty
echo hello > top.txt
echo deep > docs/a/b/c/deep.txt
i=0
while [ $i -lt 20 ]; do echo "file $i" > docs/a/f$i; i=$((i + 1)); done
dd if=/dev/urandom of=media/blob.bin bs=64k count=16 2>/dev/null
ln -s docs/a/b/c/deep.txt link-to-deep`

// threePeers is the default path, Syncthing's purpose: three volumes in three namespaces that
// enforce the restricted Pod Security Standard, each with a ReplicationSource peered with the
// two others from their status.syncthing.{ID,address}, stay the same wherever they change. A
// tree written in the first appears in the others; a file changed in the second and a file
// and a directory deleted in the third change everywhere. The movers run unprivileged (uid
// 65534, PRIVILEGED_MOVER=0), the condition says the data is in sync, lastSyncTime is set and
// volsync_volume_out_of_sync is 0. Then every mover pod is killed at once: the new pods keep
// their device IDs, reconnect, and a file written afterwards reaches every volume.
func threePeers(t *testing.T) {
	var nodes []*node
	for i := range 3 {
		nodes = append(nodes, newNode(t, cluster.Namespace(t, fmt.Sprintf("e2e-syncthing-three-%d", i)), "sync", false))
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	mesh(t, nodes...)
	waitMeshInSync(t, "peered", nodes...)
	for _, n := range nodes {
		n.checkObjects(t)
		n.checkMoverPod(t, false)
		ns, name := n.rs.Namespace, n.rs.Name
		cluster.Eventually(t, time.Minute, n.String()+" DaemonConnected event", func() error {
			if notes := cluster.EventNotes(t, ns, name)["DaemonConnected"]; len(notes) == 0 {
				return errors.New("no DaemonConnected event")
			}
			return nil
		})
	}

	a.write(t, tree)
	want := a.mustManifest(t, false)
	waitTree(t, "the tree written in "+a.String(), want, false, b, c)
	// An unprivileged mover writes as its own user.
	for _, n := range []*node{b, c} {
		out := n.mustSh(t, "cd /data; stat -c '%u:%g' top.txt docs/a/b/c/deep.txt media/blob.bin")
		for _, l := range strings.Fields(out) {
			if l != fmt.Sprintf("%d:%d", moverID, moverID) {
				t.Fatalf("%s: files received by the mover belong to %q, want %d:%d", n, out, moverID, moverID)
			}
		}
	}

	b.write(t, "echo changed >> docs/a/f3; echo new > docs/a/b/new.txt")
	want = b.mustManifest(t, false)
	waitTree(t, "the change in "+b.String(), want, false, a, c)
	a.mustSh(t, "cd /data; grep -qx changed docs/a/f3; grep -qx new docs/a/b/new.txt")

	c.write(t, "rm docs/a/f5; rm -r docs/a/b")
	want = c.mustManifest(t, false)
	waitTree(t, "the deletion in "+c.String(), want, false, a, b)
	a.mustSh(t, "cd /data; test ! -e docs/a/f5; test ! -e docs/a/b; test -e docs/a/f4")

	waitMeshInSync(t, "after the changes", nodes...)
	waitOutOfSyncGauge(t, a, "0", nodes...)

	// Kill every mover pod at once.
	ids := make([]string, len(nodes))
	old := make([]*corev1.Pod, len(nodes))
	for i, n := range nodes {
		ids[i] = n.id
		old[i] = n.waitMoverPod(t)
	}
	ctx := cluster.Ctx(t, time.Minute)
	for _, p := range old {
		cluster.Must(t, cluster.C.Delete(ctx, p))
	}
	for i, n := range nodes {
		n.waitMoverPod(t, old[i])
	}
	t.Log("every mover pod replaced")
	a.write(t, "echo after > after-restart.txt")
	want = a.mustManifest(t, false)
	waitTree(t, "a file written after the restart", want, false, b, c)
	waitMeshInSync(t, "after the restart", nodes...)
	for i, n := range nodes {
		if got := n.rs.Status.Syncthing.ID; got != ids[i] {
			t.Fatalf("%s: device ID %s after the restart, was %s", n, got, ids[i])
		}
	}
}

// mustManifest lists the node's volume (manifestScript), failing the test when it cannot.
func (n *node) mustManifest(t *testing.T, withOwners bool) string {
	t.Helper()
	out, err := n.manifest(t, withOwners)
	cluster.Must(t, err)
	return out
}
