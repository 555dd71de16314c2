//go:build e2e

package kubectlvolsync

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// scheduleTimeout bounds the first scheduled synchronization (it starts at once).
const scheduleTimeout = 5 * time.Minute

// TestReplication: a relationship between two namespaces, source Snapshot to destination
// Direct; replicated on a schedule, then on demand with "sync" after a change, the restored
// data compared each time; "delete" leaves nothing behind but the destination's data PVC.
func TestReplication(t *testing.T) {
	t.Parallel()
	srcNS, dstNS := cluster.Namespace(t, "kvs-src"), cluster.Namespace(t, "kvs-dst")
	want := volume.Fill(t, srcNS, "data", "SMALL_FILES=200 BIG_MB=2 ")
	cfg := t.TempDir()
	const rel = "example"
	ok(t, cfg, "replication", "-r", rel, "create")
	ok(t, cfg, "replication", "-r", rel, "set-source", "--pvcname", srcNS+"/data", "--copymethod", "Snapshot")
	ok(t, cfg, "replication", "-r", rel, "set-destination", "--destination", dstNS+"/data", "--copymethod", "Direct", "--servicetype", "ClusterIP")
	id := relationshipID(t, cfg, rel)

	ok(t, cfg, "replication", "-r", rel, "schedule", "--cronspec", "*/5 * * * *")
	rs := onlySource(t, srcNS, id)
	if s := ptr.Deref(rs.Spec.Trigger.Schedule, ""); s != "*/5 * * * *" || rs.Spec.Rsync.CopyMethod != v1alpha1.CopyMethodSnapshot {
		t.Errorf("ReplicationSource %s: trigger %+v, copy method %q", rs.Name, rs.Spec.Trigger, rs.Spec.Rsync.CopyMethod)
	}
	rd := &v1alpha1.ReplicationDestination{}
	cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Namespace: dstNS, Name: "data"}, rd))
	if rd.Labels[relationshipLabel] != id || ptr.Deref(rd.Spec.Rsync.DestinationPVC, "") != "data" {
		t.Errorf("ReplicationDestination labels %v, destinationPVC %v", rd.Labels, rd.Spec.Rsync.DestinationPVC)
	}
	// The first scheduled synchronization runs at once; the next slot is in status.
	cluster.Eventually(t, scheduleTimeout, "the first scheduled synchronization", func() error {
		cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKeyFromObject(rs), rs))
		if rs.Status == nil || rs.Status.LastSyncTime == nil || rs.Status.NextSyncTime == nil {
			return errors.New("not synchronized yet")
		}
		return nil
	})
	waitDestinationSynced(t, dstNS, "data", rs.Status.LastSyncTime.Add(-ptr.Deref(rs.Status.LastSyncDuration, metav1.Duration{}).Duration))
	if got := volume.Digest(t, dstNS, "data"); got != want {
		t.Fatalf("after the scheduled synchronization the destination holds %s, want %s", got, want)
	}

	volume.Run(t, srcNS, "data", volume.ChangeTree)
	want = volume.Digest(t, srcNS, "data")
	out := ok(t, cfg, "replication", "-r", rel, "sync", "--timeout", "5m")
	if !strings.Contains(out, "synchronization completed") || !strings.Contains(out, "waiting for") {
		t.Errorf("sync printed no progress or completion")
	}
	rs = onlySource(t, srcNS, id)
	if rs.Spec.Trigger.Schedule != nil || rs.Spec.Trigger.Manual == "" || rs.Status.LastManualSync != rs.Spec.Trigger.Manual {
		t.Errorf("after sync: trigger %+v, lastManualSync %q", rs.Spec.Trigger, rs.Status.LastManualSync)
	}
	// sync returns once the data is in the destination: no wait here.
	if got := volume.Digest(t, dstNS, "data"); got != want {
		t.Fatalf("after sync the destination holds %s, want %s", got, want)
	}

	ok(t, cfg, "replication", "-r", rel, "delete")
	noFile(t, cfg, rel)
	waitNothingLeft(t, id, srcNS, dstNS)
	// The replicated data stays.
	cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Namespace: dstNS, Name: "data"}, &corev1.PersistentVolumeClaim{}))
}

// onlySource returns the one ReplicationSource of the relationship in ns.
func onlySource(t *testing.T, ns, id string) *v1alpha1.ReplicationSource {
	t.Helper()
	list := &v1alpha1.ReplicationSourceList{}
	cluster.Must(t, cluster.C.List(cluster.Ctx(t, time.Minute), list, client.InNamespace(ns), client.MatchingLabels{relationshipLabel: id}))
	if len(list.Items) != 1 {
		t.Fatalf("%d ReplicationSources labelled with the relationship in %s, want 1", len(list.Items), ns)
	}
	return &list.Items[0]
}

// waitDestinationSynced waits until the destination records a synchronization that ended
// after since.
func waitDestinationSynced(t *testing.T, ns, name string, since time.Time) {
	t.Helper()
	rd := &v1alpha1.ReplicationDestination{}
	cluster.Eventually(t, scheduleTimeout, "destination "+name+" to record the synchronization", func() error {
		cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Namespace: ns, Name: name}, rd))
		if rd.Status == nil || rd.Status.LastSyncTime == nil || rd.Status.LastSyncTime.Time.Before(since.Add(-time.Second)) {
			return fmt.Errorf("status %+v", rd.Status)
		}
		return nil
	})
}
