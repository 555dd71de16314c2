//go:build e2e

package scenario

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// Namespaces creates the source and destination namespaces of one scenario:
// e2e-<mover>-<name>-{src,dst}-<random>, enforcing the restricted Pod Security Standard, or
// allowing privileged movers when privileged is set.
func Namespaces(t *testing.T, m Mover, name string, privileged bool) (src, dst string) {
	t.Helper()
	create := cluster.Namespace
	if privileged {
		create = cluster.PrivilegedNamespace
	}
	prefix := m.nsPrefix() + name
	return create(t, prefix+"-src"), create(t, prefix+"-dst")
}

// NewDestination returns a ReplicationDestination of the mover that provisions its own
// volume of volume.Size.
func NewDestination(m Mover, ns, name string, method v1alpha1.CopyMethodType, trig *v1alpha1.TriggerSpec) *v1alpha1.ReplicationDestination {
	size := resource.MustParse(volume.Size)
	rd := &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       v1alpha1.ReplicationDestinationSpec{Trigger: trig},
	}
	m.SetDestination(rd, v1alpha1.ReplicationDestinationVolumeOptions{
		CopyMethod: method, Capacity: &size, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
	})
	return rd
}

// NewSource returns a ReplicationSource of the mover for the PVC pvc, connected to ep with
// keySecret.
func NewSource(m Mover, ns, name, pvc string, method v1alpha1.CopyMethodType, trig *v1alpha1.TriggerSpec, ep Endpoint, keySecret string) *v1alpha1.ReplicationSource {
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: pvc, Trigger: trig},
	}
	m.SetSource(rs, v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: method})
	m.Connect(rs, ep, keySecret)
	return rs
}

// WaitPublished waits for rd to publish its address, and returns what it publishes.
func WaitPublished(t *testing.T, m Mover, rd *v1alpha1.ReplicationDestination) Endpoint {
	t.Helper()
	ctx := cluster.Ctx(t, publishTimeout)
	var ep Endpoint
	cluster.Eventually(t, publishTimeout, "destination "+rd.Name+" to publish its address", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(rd), rd); err != nil {
			return err
		}
		var ok bool
		if ep, ok = m.Published(rd); !ok {
			return fmt.Errorf("no address yet (%s)", Describe(DestinationStatus(rd)))
		}
		return nil
	})
	t.Logf("destination %s publishes address %s, port %v, key Secret %q", rd.Name, ep.Address, ptr.Deref(ep.Port, 0), ep.KeySecret)
	return ep
}

// CopySecret copies a Secret's data to another namespace under the same name, as a user
// copies the destination's keys to the source side (without its owner, uid and so on).
func CopySecret(t *testing.T, fromNS, name, toNS string) *corev1.Secret {
	t.Helper()
	ctx := cluster.Ctx(t, time.Minute)
	s := &corev1.Secret{}
	cluster.Must(t, cluster.C.Get(ctx, client.ObjectKey{Namespace: fromNS, Name: name}, s))
	cp := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: toNS}, Type: s.Type, Data: s.Data}
	cluster.Must(t, cluster.C.Create(ctx, cp))
	return cp
}

// Pair is a ReplicationSource of the PVC "data" and the ReplicationDestination it sends to.
type Pair struct {
	RS *v1alpha1.ReplicationSource
	RD *v1alpha1.ReplicationDestination
	// Keys is the user's copy of the destination's key Secret in the source's namespace.
	Keys string
}

// NewPair creates a destination rdName in dstNS, checks the key Secret it generates and
// publishes, copies that Secret to srcNS as a user does, and creates a source rsName of the PVC
// "data" in srcNS that sends to it. Both get the trigger trig.
func NewPair(t *testing.T, m Mover, srcNS, dstNS, rsName, rdName string, dstMethod, srcMethod v1alpha1.CopyMethodType, trig *v1alpha1.TriggerSpec) *Pair {
	t.Helper()
	rd := NewDestination(m, dstNS, rdName, dstMethod, trig)
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), rd))
	ep := WaitPublished(t, m, rd)
	if want := m.GeneratedSecrets(rdName)[0]; ep.KeySecret != want {
		t.Fatalf("destination publishes key Secret %q, want the generated %q", ep.KeySecret, want)
	}
	keys := CopySecret(t, dstNS, ep.KeySecret, srcNS)
	for _, k := range m.KeyFields {
		if len(keys.Data[k]) == 0 {
			t.Fatalf("published key Secret %s/%s has no %q (has %d keys)", dstNS, ep.KeySecret, k, len(keys.Data))
		}
	}
	if len(keys.Data) != len(m.KeyFields) {
		t.Errorf("published key Secret %s/%s holds %d keys, want only %v", dstNS, ep.KeySecret, len(keys.Data), m.KeyFields)
	}
	rs := NewSource(m, srcNS, rsName, "data", srcMethod, trig.DeepCopy(), ep, keys.Name)
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), rs))
	return &Pair{RS: rs, RD: rd, Keys: keys.Name}
}

// Restore makes a PVC called name from a destination's latestImage and returns its name (the
// image's own name when the image is a PVC).
func Restore(t *testing.T, rd *v1alpha1.ReplicationDestination, name string) string {
	t.Helper()
	img := rd.Status.LatestImage
	if img == nil {
		t.Fatal("no latestImage")
	}
	if img.Kind == "PersistentVolumeClaim" {
		return img.Name
	}
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), volume.NewPVC(rd.Namespace, name, img)))
	return name
}

// ExpectRestoredAs restores rd's latestImage as name and fails the test unless its digest, read
// as uid:gid, is want. It returns the restored PVC's name.
func ExpectRestoredAs(t *testing.T, rd *v1alpha1.ReplicationDestination, name string, uid, gid int64, want, what string) string {
	t.Helper()
	pvc := Restore(t, rd, name)
	if got := volume.DigestAs(t, rd.Namespace, pvc, uid, gid); got != want {
		t.Fatalf("restored tree (%s) differs:\nsource   %s\nrestored %s", what, want, got)
	}
	return pvc
}

// ExpectRestored is ExpectRestoredAs read as the application's user.
func ExpectRestored(t *testing.T, rd *v1alpha1.ReplicationDestination, name, want, what string) string {
	t.Helper()
	return ExpectRestoredAs(t, rd, name, volume.AppUID, volume.AppGID, want, what)
}
