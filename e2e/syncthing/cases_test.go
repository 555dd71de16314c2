//go:build e2e

package syncthing

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
)

// introducer: east has west and central as peers; west and central have only east, as their
// introducer. East introduces them to each other: west's status lists central, introduced by
// east, connected (and central west), and what west writes reaches central and east.
func introducer(t *testing.T) {
	east := newNode(t, cluster.Namespace(t, "e2e-syncthing-intro-east"), "sync", false)
	west := newNode(t, cluster.Namespace(t, "e2e-syncthing-intro-west"), "sync", false)
	central := newNode(t, cluster.Namespace(t, "e2e-syncthing-intro-central"), "sync", false)
	for _, n := range []*node{east, west, central} {
		n.waitPublished(t)
	}
	east.setPeers(t, west.peer(false), central.peer(false))
	west.setPeers(t, east.peer(true))
	central.setPeers(t, east.peer(true))

	introduced := func(other *node) func(*v1alpha1.ReplicationSource) error {
		return func(rs *v1alpha1.ReplicationSource) error {
			p := peerStatus(rs, other.id)
			switch {
			case p == nil:
				return fmt.Errorf("%s (%s) not introduced yet", short(other.id), other)
			case p.IntroducedBy != east.id:
				return fmt.Errorf("%s introduced by %q, want east %s", short(other.id), p.IntroducedBy, east.id)
			case !p.Connected:
				return fmt.Errorf("%s introduced by east, not connected", short(other.id))
			}
			return nil
		}
	}
	west.waitStatus(t, connectTimeout, "central introduced by east and connected", all(connectedTo(east), introduced(central)))
	central.waitStatus(t, connectTimeout, "west introduced by east and connected", all(connectedTo(east), introduced(west)))

	west.write(t, tree)
	want := west.mustManifest(t, false)
	waitTree(t, "the tree written in west", want, false, central, east)
	east.waitStatus(t, connectTimeout, "west and central connected, in sync", all(connectedTo(west, central), inSync))
	for _, o := range []*node{west, central} {
		if p := peerStatus(east.rs, o.id); p.IntroducedBy != "" {
			t.Fatalf("east's own peer %s shows introducedBy %q", o, p.IntroducedBy)
		}
	}
	for _, n := range []*node{west, central} {
		n.waitStatus(t, connectTimeout, "east connected, in sync", all(connectedTo(east), inSync))
	}
}

// longNames: ReplicationSources whose names are longer than 63 characters get the shortened
// Deployment (volsync-<crc32>) and Service (volsync-api-<crc32>, volsync-data-<crc32>) names,
// and sync.
func longNames(t *testing.T) {
	name := "syncthing-source-with-a-name-much-longer-than-sixty-three-characters"
	if len("volsync-"+name) <= 63 {
		t.Fatalf("name %s is not long enough", name)
	}
	a := newNode(t, cluster.Namespace(t, "e2e-syncthing-long-a"), name, false)
	b := newNode(t, cluster.Namespace(t, "e2e-syncthing-long-b"), name, false)
	mesh(t, a, b)
	waitMeshInSync(t, "peered", a, b)
	for _, n := range []*node{a, b} {
		n.checkObjects(t)
		n.checkMoverPod(t, false)
	}
	a.write(t, tree)
	want := a.mustManifest(t, false)
	waitTree(t, "the tree written in "+a.String(), want, false, b)
}

// ownersTree gives the tree several owners, some of its entries private to them (run as root
// after tree).
const ownersTree = `
chown 1234:5678 top.txt
chown -R 2000:3000 docs/a/b
echo secret > secret.key
chown 1500:1500 secret.key
chmod 600 secret.key
mkdir private
echo inside > private/file
chown -R 1600:1700 private
chmod 700 private`

// privileged: in namespaces that allow privileged movers, the movers run as root with
// PRIVILEGED_MOVER=1, and files of several owners, some private, arrive with their owners,
// groups and modes.
func privileged(t *testing.T) {
	a := newNode(t, cluster.PrivilegedNamespace(t, "e2e-syncthing-priv-a"), "sync", true)
	b := newNode(t, cluster.PrivilegedNamespace(t, "e2e-syncthing-priv-b"), "sync", true)
	mesh(t, a, b)
	waitMeshInSync(t, "peered", a, b)
	a.checkMoverPod(t, true)
	b.checkMoverPod(t, true)
	a.write(t, tree+"\n"+ownersTree)
	want := a.mustManifest(t, true)
	waitTree(t, "the tree of several owners written in "+a.String(), want, true, b)
	if out := b.mustSh(t, "stat -c '%u:%g %a' /data/secret.key"); strings.TrimSpace(out) != "1500:1500 600" {
		t.Fatalf("%s: secret.key arrived as %q, want 1500:1500 600", b, out)
	}
}

// paused: pausing one of two peers scales its Deployment to zero; the other sees it
// disconnected and says the data is out of sync, the paused one's condition says it is
// paused. Resumed, it reconnects, receives what changed meanwhile, and both are in sync.
func paused(t *testing.T) {
	a := newNode(t, cluster.Namespace(t, "e2e-syncthing-pause-a"), "sync", false)
	b := newNode(t, cluster.Namespace(t, "e2e-syncthing-pause-b"), "sync", false)
	mesh(t, a, b)
	waitMeshInSync(t, "peered", a, b)

	setPaused := func(p bool) {
		scenario.Update(t, a.rs, fmt.Sprintf("%s paused %v", a, p), func(rs *v1alpha1.ReplicationSource) { rs.Spec.Paused = p })
	}
	setPaused(true)
	ctx := cluster.Ctx(t, podTimeout+time.Minute)
	dep := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: a.rs.Namespace, Name: scenario.ShortName("volsync-", a.rs.Name)}
	cluster.Eventually(t, podTimeout, a.String()+" Deployment scaled to zero", func() error {
		if err := cluster.C.Get(ctx, key, dep); err != nil {
			return err
		}
		if ptr.Deref(dep.Spec.Replicas, 1) != 0 || dep.Status.Replicas != 0 {
			return fmt.Errorf("replicas %d, %d running", ptr.Deref(dep.Spec.Replicas, 1), dep.Status.Replicas)
		}
		return nil
	})
	b.waitStatus(t, connectTimeout, "paused peer disconnected, out of sync", func(rs *v1alpha1.ReplicationSource) error {
		if p := peerStatus(rs, a.id); p == nil || p.Connected {
			return errors.New("the paused peer is still connected")
		}
		c := scenario.Condition(scenario.SourceStatus(rs))
		if c == nil || strings.HasPrefix(c.Message, inSyncMessage) || !strings.Contains(c.Message, "not connected") {
			return errors.New("the condition does not say the paused peer is not connected")
		}
		return nil
	})
	a.waitStatus(t, connectTimeout, "condition says paused", func(rs *v1alpha1.ReplicationSource) error {
		if c := scenario.Condition(scenario.SourceStatus(rs)); c == nil || !strings.Contains(c.Message, "Paused") {
			return errors.New("the condition does not say paused")
		}
		return nil
	})
	b.write(t, "echo meanwhile > written-while-paused.txt")

	setPaused(false)
	a.waitMoverPod(t)
	want := b.mustManifest(t, false)
	waitTree(t, "the file written while paused", want, false, a)
	waitMeshInSync(t, "resumed", a, b)
}

// badPeers: peer lists the API server refuses (malformed device IDs, a peer twice, an address
// without a scheme), and one only the controller can refuse: the node's own ID, reported as an
// Error condition until it is removed.
func badPeers(t *testing.T) {
	ns := cluster.Namespace(t, "e2e-syncthing-bad")
	n := newNode(t, ns, "self", false)

	const fake = "AAAAAAA-BBBBBBB-CCCCCCC-DDDDDDD-EEEEEEE-FFFFFFF-GGGGGGG-HHHHHHH"
	refused := []struct {
		what  string
		peers []v1alpha1.SyncthingPeer
		msg   string
	}{
		{"lower-case device ID", []v1alpha1.SyncthingPeer{{ID: strings.ToLower(fake), Address: "tcp://192.0.2.1:22000"}}, "must be a Syncthing device ID"},
		{"device ID with 0 and 1", []v1alpha1.SyncthingPeer{{ID: strings.Repeat("AAAAAA0-", 7) + "AAAAAA1", Address: "tcp://192.0.2.1:22000"}}, "must be a Syncthing device ID"},
		{"device ID with underscores", []v1alpha1.SyncthingPeer{{ID: strings.ReplaceAll(fake, "-", "_"), Address: "tcp://192.0.2.1:22000"}}, "must be a Syncthing device ID"},
		{"the same peer twice", []v1alpha1.SyncthingPeer{{ID: fake, Address: "tcp://192.0.2.1:22000"}, {ID: fake, Address: "tcp://192.0.2.2:22000"}}, "each peer ID may appear only once"},
		{"address without a scheme", []v1alpha1.SyncthingPeer{{ID: fake, Address: "192.0.2.1:22000"}}, "must be a Syncthing address"},
	}
	ctx := cluster.Ctx(t, time.Minute)
	for i, r := range refused {
		rs := &v1alpha1.ReplicationSource{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("refused-%d", i), Namespace: ns},
			Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: pvcName,
				Syncthing: &v1alpha1.ReplicationSourceSyncthingSpec{Peers: r.peers}},
		}
		err := cluster.C.Create(ctx, rs)
		if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), r.msg) {
			t.Fatalf("%s: creating a ReplicationSource returned %v, want Invalid with %q", r.what, err, r.msg)
		}
		t.Logf("%s: refused: %v", r.what, err)
	}

	n.waitPublished(t)
	n.setPeers(t, n.peer(false))
	n.waitStatus(t, errorTimeout, "Error: the peer list contains the node itself", func(rs *v1alpha1.ReplicationSource) error {
		c := scenario.Condition(scenario.SourceStatus(rs))
		if c == nil || c.Reason != v1alpha1.SynchronizingReasonError || !strings.Contains(c.Message, "the node itself") {
			return errors.New("no Error condition naming the node itself")
		}
		return nil
	})
	t.Logf("%s: %s", n, describe(n.rs))
	id := n.id
	n.setPeers(t)
	n.waitStatus(t, errorTimeout, "no error once the peer is removed", func(rs *v1alpha1.ReplicationSource) error {
		if c := scenario.Condition(scenario.SourceStatus(rs)); c == nil || c.Reason != v1alpha1.SynchronizingReasonSync {
			return errors.New("not back to SyncInProgress")
		}
		if rs.Status.Syncthing == nil || rs.Status.Syncthing.ID != id {
			return errors.New("device ID changed")
		}
		return nil
	})
}
