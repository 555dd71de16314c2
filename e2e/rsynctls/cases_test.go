//go:build e2e

package rsynctls

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// pregeneratedKey creates a PSK Secret as a GitOps repository would hold it.
func pregeneratedKey(t *testing.T, ns, name, identity string) {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		StringData: map[string]string{pskKey: identity + ":" + hex.EncodeToString(b)}}))
}

// preSharedKeyAndWrongKey: a key provided on both sides (GitOps) works; a wrong key on the
// source is reported clearly and in bounded time, leaks nothing, and recovers once fixed.
func preSharedKeyAndWrongKey(t *testing.T) {
	srcNS, dstNS := scenario.Namespaces(t, mover, "psk", false)
	want := volume.Fill(t, srcNS, "data", "SMALL_FILES=50 BIG_MB=1 ")
	pregeneratedKey(t, dstNS, "gitops-key", "gitops")
	scenario.CopySecret(t, dstNS, "gitops-key", srcNS)

	trig := &v1alpha1.TriggerSpec{Manual: "k1"}
	rd := scenario.NewDestination(mover, dstNS, "dst", v1alpha1.CopyMethodSnapshot, trig)
	rd.Spec.RsyncTLS.KeySecret = ptr.To("gitops-key")
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), rd))
	ep := scenario.WaitPublished(t, mover, rd)
	if ep.KeySecret != "" {
		t.Fatalf("a key was generated although keySecret is set: %s", ep.KeySecret)
	}
	rs := scenario.NewSource(mover, srcNS, "src", "data", v1alpha1.CopyMethodClone, trig.DeepCopy(), ep, "gitops-key")
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), rs))
	scenario.WaitManual(t, rs, rd, "k1")
	scenario.ExpectRestored(t, rd, "restore", want, "pre-shared key")

	// A wrong key on the source.
	ctx := cluster.Ctx(t, scenario.ErrorTimeout)
	key := &corev1.Secret{}
	cluster.Must(t, cluster.C.Get(ctx, client.ObjectKey{Namespace: srcNS, Name: "gitops-key"}, key))
	good := key.Data[pskKey]
	key.Data[pskKey] = []byte("gitops:" + strings.Repeat("0", 64))
	cluster.Must(t, cluster.C.Update(ctx, key))
	scenario.Trigger(t, rs, rd, "k2")
	scenario.WaitSourceFailed(t, rs, func(*metav1.Condition) error {
		if len(cluster.EventNotes(t, srcNS, rs.Name)["TransferFailed"]) == 0 {
			return errors.New("no TransferFailed event")
		}
		return nil
	})
	// Nothing leaks while failing: one Job per side, one copy of the source.
	jobs := &batchv1.JobList{}
	cluster.Must(t, cluster.C.List(ctx, jobs, client.InNamespace(srcNS)))
	pvcs := &corev1.PersistentVolumeClaimList{}
	cluster.Must(t, cluster.C.List(ctx, pvcs, client.InNamespace(srcNS)))
	if len(jobs.Items) != 1 || len(pvcs.Items) != 2 {
		t.Fatalf("while failing: %d Jobs and %d PVCs in the source namespace, want 1 and 2", len(jobs.Items), len(pvcs.Items))
	}
	// Fix the key: the source recovers by itself.
	cluster.Must(t, cluster.C.Get(ctx, client.ObjectKeyFromObject(key), key))
	key.Data[pskKey] = good
	cluster.Must(t, cluster.C.Update(ctx, key))
	scenario.WaitManual(t, rs, rd, "k2")
}

// unreadableFilesAndMoverSecurityContext: in restricted namespaces, a default (unprivileged)
// mover that cannot read some of the application's files fails the sync naming them and saying
// what to do, instead of copying part of the volume; with a moverSecurityContext that runs the
// movers as the application's user, the same volume replicates completely.
func unreadableFilesAndMoverSecurityContext(t *testing.T) {
	srcNS, dstNS := scenario.Namespaces(t, mover, "msc", false)
	volume.FillOwned(t, srcNS, "data")

	// Direct: with an fsGroup in its moverSecurityContext, the kubelet gives the volume the
	// mover mounts that group (and group permission bits) before the mover starts, so the
	// replica is compared with the volume as the mover read it.
	p := scenario.NewPair(t, mover, srcNS, dstNS, "src", "dst", v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodDirect, &v1alpha1.TriggerSpec{Manual: "s1"})
	scenario.WaitSourceFailed(t, p.RS, func(cond *metav1.Condition) error {
		if !strings.Contains(cond.Message, "secret.key") && !strings.Contains(cond.Message, "private") {
			return fmt.Errorf("the error does not name an unreadable entry: %s", cond.Message)
		}
		if !strings.Contains(cond.Message, "moverSecurityContext") {
			return fmt.Errorf("the error does not say what to do: %s", cond.Message)
		}
		return nil
	})
	if p.RS.Status.LastManualSync == "s1" {
		t.Fatal("a sync that could not read every file was recorded as done")
	}

	// Run both movers as the application's user: the destination first, so the source's next
	// attempt finds a receiver that writes as that user.
	sc := &corev1.PodSecurityContext{
		RunAsUser: ptr.To(volume.OwnerUID), RunAsGroup: ptr.To(volume.OwnerGID), FSGroup: ptr.To(volume.OwnerGID),
		RunAsNonRoot:   ptr.To(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	scenario.Update(t, p.RD, "destination moverSecurityContext", func(rd *v1alpha1.ReplicationDestination) {
		rd.Spec.RsyncTLS.MoverSecurityContext = sc
	})
	scenario.Update(t, p.RS, "source moverSecurityContext", func(rs *v1alpha1.ReplicationSource) {
		rs.Spec.RsyncTLS.MoverSecurityContext = sc
	})
	scenario.WaitManual(t, p.RS, p.RD, "s1")
	want := volume.DigestAs(t, srcNS, "data", volume.OwnerUID, volume.OwnerGID)
	scenario.ExpectRestoredAs(t, p.RD, "restore", volume.OwnerUID, volume.OwnerGID, want, "moverSecurityContext")
}
