//go:build e2e

package replication

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// The application of the security scenarios runs as a uid and gid that are neither the
// mover's default (65534) nor the other tests' (1000).
const (
	ownerUID int64 = 1234
	ownerGID int64 = 5678
)

// privateTree adds what only its owner may read to a small tree: a 0600 file and a 0700
// directory.
const privateTree = `
cd /data
echo secret > secret.key
chmod 600 secret.key
mkdir private
echo inside > private/file
chmod 700 private
`

// ownerSecurityContext is the moverSecurityContext a user sets so the mover runs as the
// application does.
func ownerSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsUser: ptr.To(ownerUID), RunAsGroup: ptr.To(ownerGID), FSGroup: ptr.To(ownerGID),
		RunAsNonRoot:   ptr.To(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// ownedVolume creates a PVC filled by the application's user with a tree that includes private
// entries, and returns its digest as that user sees it.
func ownedVolume(t *testing.T, ns string) string {
	t.Helper()
	must(t, c.Create(ctxT(t, time.Minute), newPVC(ns, "data", nil)))
	runPodAs(t, ns, "data", ownerUID, ownerGID, "SMALL_FILES=30 BIG_MB=1 "+writeTree+privateTree)
	return treeDigestAs(t, ns, "data", ownerUID, ownerGID)
}

// TestUnreadableFilesAndMoverSecurityContext: in restricted namespaces, a default (unprivileged)
// mover that cannot read some of the application's files fails the sync naming them and saying
// what to do, instead of copying part of the volume; with a moverSecurityContext that runs the
// movers as the application's user, the same volume replicates completely.
func TestUnreadableFilesAndMoverSecurityContext(t *testing.T) {
	t.Parallel()
	srcNS, dstNS := namespace(t, "e2e-msc-src"), namespace(t, "e2e-msc-dst")
	ownedVolume(t, srcNS)

	// Direct: with an fsGroup in its moverSecurityContext, the kubelet gives the volume the
	// mover mounts that group (and group permission bits) before the mover starts, so the
	// replica is compared with the volume as the mover read it.
	rs, rd := pair(t, srcNS, dstNS, v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodDirect, &v1alpha1.TriggerSpec{Manual: "s1"})

	ctx := ctxT(t, errorTimeout)
	eventually(t, errorTimeout, "source reports the unreadable files", func() error {
		must(t, c.Get(ctx, client.ObjectKeyFromObject(rs), rs))
		cond := condition(rsCommon(rs))
		if cond == nil || cond.Reason != v1alpha1.SynchronizingReasonError {
			return fmt.Errorf("condition: %s", describe(rsCommon(rs)))
		}
		if !strings.Contains(cond.Message, "secret.key") && !strings.Contains(cond.Message, "private") {
			return fmt.Errorf("the error does not name an unreadable entry: %s", cond.Message)
		}
		if !strings.Contains(cond.Message, "moverSecurityContext") {
			return fmt.Errorf("the error does not say what to do: %s", cond.Message)
		}
		if ms := rs.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultFailed {
			return fmt.Errorf("latestMoverStatus: %+v", ms)
		}
		return nil
	})
	t.Logf("reported: %s", describe(rsCommon(rs)))
	if rs.Status.LastManualSync == "s1" {
		t.Fatal("a sync that could not read every file was recorded as done")
	}

	// Run both movers as the application's user: the destination first, so the source's next
	// attempt finds a receiver that writes as that user.
	setSecurityContext(t, rd, ownerSecurityContext())
	setSecurityContext(t, rs, ownerSecurityContext())
	waitManual(t, rs, rd, "s1")
	want := treeDigestAs(t, srcNS, "data", ownerUID, ownerGID)
	if got := treeDigestAs(t, dstNS, restore(t, rd, "restore"), ownerUID, ownerGID); got != want {
		t.Fatalf("restored tree differs:\nsource   %s\nrestored %s", want, got)
	}
}

// TestPrivilegedMovers: in namespaces that allow privileged movers, the movers read every file
// whatever its owner and mode, and the destination keeps ownership.
func TestPrivilegedMovers(t *testing.T) {
	t.Parallel()
	srcNS, dstNS := privilegedNamespace(t, "e2e-priv-src"), privilegedNamespace(t, "e2e-priv-dst")
	want := ownedVolume(t, srcNS)

	rs, rd := pair(t, srcNS, dstNS, v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodSnapshot, &v1alpha1.TriggerSpec{Manual: "p1"})
	waitManual(t, rs, rd, "p1")

	restored := restore(t, rd, "restore")
	if got := treeDigestAs(t, dstNS, restored, ownerUID, ownerGID); got != want {
		t.Fatalf("restored tree differs:\nsource   %s\nrestored %s", want, got)
	}
	owners := runPodAs(t, dstNS, restored, ownerUID, ownerGID, "cd /data; stat -c '%n %u:%g %a' secret.key private top.txt")
	for _, w := range []string{"secret.key 1234:5678 600", "private 1234:5678 700", "top.txt 1234:5678 644"} {
		if !strings.Contains(owners, w) {
			t.Errorf("ownership not kept: want %q in\n%s", w, owners)
		}
	}
}

// setSecurityContext sets moverSecurityContext on an rsync-TLS source or destination.
func setSecurityContext(t *testing.T, obj client.Object, sc *corev1.PodSecurityContext) {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	eventually(t, time.Minute, "set moverSecurityContext", func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		switch o := obj.(type) {
		case *v1alpha1.ReplicationSource:
			o.Spec.RsyncTLS.MoverSecurityContext = sc
		case *v1alpha1.ReplicationDestination:
			o.Spec.RsyncTLS.MoverSecurityContext = sc
		default:
			return errors.New("not a VolSync object")
		}
		return c.Update(ctx, obj)
	})
}
