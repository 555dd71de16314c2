//go:build e2e

package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// Case is a named scenario of one mover's suite, run by Run beside the shared ones.
type Case struct {
	Name string
	Run  func(t *testing.T)
}

// Run runs every shared scenario for the mover, and the suite's own cases. The controller
// restart runs first and alone, so the restart it causes does not change what the others
// measure; then all the others run in parallel.
func Run(t *testing.T, m Mover, own ...Case) {
	t.Run("ControllerRestartMidSync", func(t *testing.T) { ControllerRestartMidSync(t, m) })
	cases := []Case{
		{"Replication", func(t *testing.T) { Replication(t, m) }},
		{"LongNames", func(t *testing.T) { LongNames(t, m) }},
		{"PrivilegedMovers", func(t *testing.T) { PrivilegedMovers(t, m) }},
		{"ScheduleAndMetrics", func(t *testing.T) { ScheduleAndMetrics(t, m) }},
	}
	for _, c := range append(cases, own...) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			c.Run(t)
		})
	}
}

func manual(value string) *v1alpha1.TriggerSpec { return &v1alpha1.TriggerSpec{Manual: value} }

// Replication is the default path: unprivileged movers in namespaces enforcing the restricted
// Pod Security Standard, data written by the application's user. It replicates a mixed tree
// between two namespaces with every source copy method (Clone, then Snapshot after changes and
// deletions, then Direct while the application runs), checks the restored data bit for bit,
// and checks that deleting the objects removes what they created.
func Replication(t *testing.T, m Mover) {
	srcNS, dstNS := Namespaces(t, m, "repl", false)
	want := volume.Fill(t, srcNS, "data", "")
	p := NewPair(t, m, srcNS, dstNS, "app", "backup", v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodClone, manual("m1"))

	WaitManual(t, p.RS, p.RD, "m1")
	ExpectRestored(t, p.RD, "restore-1", want, "Clone")
	if ms := p.RS.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultSuccessful {
		t.Fatalf("source latestMoverStatus: %+v", ms)
	}

	// Change, delete and add files; sync with a Snapshot copy.
	volume.Run(t, srcNS, "data", volume.ChangeTree)
	want = volume.Digest(t, srcNS, "data")
	UpdateCopyMethod(t, m, p.RS, v1alpha1.CopyMethodSnapshot)
	Trigger(t, p.RS, p.RD, "m2")
	WaitManual(t, p.RS, p.RD, "m2")
	ExpectRestored(t, p.RD, "restore-2", want, "Snapshot, after changes")

	// Direct, while the application runs: the mover must share the node of the app's RWO volume.
	volume.StartApp(t, srcNS, "data")
	UpdateCopyMethod(t, m, p.RS, v1alpha1.CopyMethodDirect)
	Trigger(t, p.RS, p.RD, "m3")
	job := &batchv1.Job{}
	name := m.JobName(Source, p.RS.Name)
	cluster.Eventually(t, SyncTimeout, "Direct mover Job "+name, func() error {
		return cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Namespace: srcNS, Name: name}, job)
	})
	if job.Spec.Template.Spec.NodeSelector[corev1.LabelHostname] == "" {
		t.Fatalf("Direct mover not pinned to the app's node: %v", job.Spec.Template.Spec.NodeSelector)
	}
	WaitManual(t, p.RS, p.RD, "m3")
	ExpectRestored(t, p.RD, "restore-3", want, "Direct")

	// Only the latest image and the user's restores remain; temporaries are gone.
	snaps := &snapv1.VolumeSnapshotList{}
	cluster.Must(t, cluster.C.List(cluster.Ctx(t, time.Minute), snaps, client.InNamespace(dstNS)))
	if len(snaps.Items) != 1 || snaps.Items[0].Name != p.RD.Status.LatestImage.Name {
		t.Errorf("destination snapshots: want only the latest image %s, got %d", p.RD.Status.LatestImage.Name, len(snaps.Items))
	}
	CheckDeletion(t, m, p)
}

// LongNames: a source and a destination whose names are longer than 63 characters replicate;
// the Jobs and the Service (names and label values limited to 63 characters) get the
// reference's shortened names, and deletion removes them.
func LongNames(t *testing.T, m Mover) {
	const (
		rsName = "a-replication-source-whose-name-is-longer-than-sixty-three-characters"
		rdName = "a-replication-destination-whose-name-is-longer-than-sixty-three-chars"
	)
	for _, n := range []string{rsName, rdName} {
		if len(n) <= maxNameLength || m.JobName(Source, n) == "volsync-"+m.Method+"-src-"+n {
			t.Fatalf("test setup: %q would not be shortened", n)
		}
	}
	srcNS, dstNS := Namespaces(t, m, "long", false)
	want := volume.Fill(t, srcNS, "data", "SMALL_FILES=50 BIG_MB=1 ")
	p := NewPair(t, m, srcNS, dstNS, rsName, rdName, v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodSnapshot, manual("l1"))
	svc := m.JobName(Destination, rdName)
	cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKey{Namespace: dstNS, Name: svc}, &corev1.Service{}))

	WaitManual(t, p.RS, p.RD, "l1")
	ExpectRestored(t, p.RD, "restore", want, "long names")
	expectJobStarted(t, srcNS, rsName, m.JobName(Source, rsName))
	expectJobStarted(t, dstNS, rdName, m.JobName(Destination, rdName))
	CheckDeletion(t, m, p)
}

// expectJobStarted waits for the TransferStarted event of the object owner, and checks that it
// names the Job job.
func expectJobStarted(t *testing.T, ns, owner, job string) {
	t.Helper()
	cluster.Eventually(t, time.Minute, "TransferStarted event of "+owner, func() error {
		var related []string
		for _, e := range cluster.Events(t, ns, owner) {
			if e.Reason != "TransferStarted" {
				continue
			}
			if e.Related != nil && e.Related.Kind == "Job" && e.Related.Name == job {
				return nil
			}
			if e.Related != nil {
				related = append(related, e.Related.Kind+"/"+e.Related.Name)
			}
		}
		return fmt.Errorf("no TransferStarted event for Job %s (events for %v)", job, related)
	})
}

// PrivilegedMovers: in namespaces that allow privileged movers, the movers read every file
// whatever its owner and mode, and the destination keeps ownership.
func PrivilegedMovers(t *testing.T, m Mover) {
	srcNS, dstNS := Namespaces(t, m, "priv", true)
	want := volume.FillOwned(t, srcNS, "data")
	p := NewPair(t, m, srcNS, dstNS, "src", "dst", v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodSnapshot, manual("p1"))
	WaitManual(t, p.RS, p.RD, "p1")

	restored := ExpectRestoredAs(t, p.RD, "restore", volume.OwnerUID, volume.OwnerGID, want, "privileged")
	owners := volume.RunAs(t, dstNS, restored, volume.OwnerUID, volume.OwnerGID, "cd /data; stat -c '%n %u:%g %a' secret.key private top.txt")
	owner := fmt.Sprintf("%d:%d", volume.OwnerUID, volume.OwnerGID)
	for _, w := range []string{"secret.key " + owner + " 600", "private " + owner + " 700", "top.txt " + owner + " 644"} {
		if !strings.Contains(owners, w) {
			t.Errorf("ownership not kept: want %q in\n%s", w, owners)
		}
	}
}

// ScheduleAndMetrics: a scheduled pair (Clone source, Direct destination) syncs twice in a row
// after its first sync, nextSyncTime advances, and the controller's metrics show the source's
// syncs under the mover's method label.
func ScheduleAndMetrics(t *testing.T, m Mover) {
	srcNS, dstNS := Namespaces(t, m, "sched", false)
	volume.Fill(t, srcNS, "data", "SMALL_FILES=20 BIG_MB=1 ")
	every := &v1alpha1.TriggerSpec{Schedule: ptr.To("*/1 * * * *")}
	rs := NewPair(t, m, srcNS, dstNS, "src", "dst", v1alpha1.CopyMethodDirect, v1alpha1.CopyMethodClone, every).RS

	ctx := cluster.Ctx(t, 3*SyncTimeout)
	var seen, nexts []time.Time
	cluster.Eventually(t, 3*SyncTimeout, "two scheduled syncs", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(rs), rs); err != nil {
			return err
		}
		if rs.Status == nil || rs.Status.LastSyncTime == nil {
			return errors.New("no sync yet")
		}
		last := rs.Status.LastSyncTime.Time
		if len(seen) == 0 || !seen[len(seen)-1].Equal(last) {
			seen = append(seen, last)
			if rs.Status.NextSyncTime != nil {
				nexts = append(nexts, rs.Status.NextSyncTime.Time)
			}
		}
		if len(seen) < 3 { // the first sync runs at creation, then two scheduled ones
			return fmt.Errorf("%d syncs so far (%s)", len(seen), Describe(SourceStatus(rs)))
		}
		return nil
	})
	if len(nexts) < 2 || !nexts[len(nexts)-1].After(nexts[0]) {
		t.Fatalf("nextSyncTime did not advance: %v", nexts)
	}

	url := fmt.Sprintf("http://%s-metrics.%s.svc:8080/metrics", m.Controller, cluster.ControllerNamespace)
	out := volume.Run(t, srcNS, "data", "wget -qO- "+url+" | grep '^volsync_' || true")
	// Prometheus sorts labels by name: method, obj_name, obj_namespace, role.
	series := fmt.Sprintf(`{method="%s",obj_name="%s",obj_namespace="%s",role="source"}`, m.Method, rs.Name, srcNS)
	var count, outOfSync string
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, series) {
			continue
		}
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "volsync_sync_duration_seconds_count"):
			count = f[len(f)-1]
		case strings.HasPrefix(l, "volsync_volume_out_of_sync"):
			outOfSync = f[len(f)-1]
		}
	}
	if count == "" || count == "0" || outOfSync != "0" {
		t.Fatalf("metrics for the source %s: duration count %q, out_of_sync %q\n%s", series, count, outOfSync, out)
	}
}

// ControllerRestartMidSync: deleting the controller's pods during a sync neither stops the
// sync nor starts a second Job.
func ControllerRestartMidSync(t *testing.T, m Mover) {
	srcNS, dstNS := Namespaces(t, m, "restart", false)
	want := volume.Fill(t, srcNS, "data", "SMALL_FILES=2000 BIG_MB=200 ")
	p := NewPair(t, m, srcNS, dstNS, "src", "dst", v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodClone, manual("r1"))

	ctx := cluster.Ctx(t, SyncTimeout)
	job := &batchv1.Job{}
	name := m.JobName(Source, p.RS.Name)
	cluster.Eventually(t, SyncTimeout, "source Job "+name, func() error {
		return cluster.C.Get(ctx, client.ObjectKey{Namespace: srcNS, Name: name}, job)
	})
	pods := &corev1.PodList{}
	cluster.Must(t, cluster.C.List(ctx, pods, client.InNamespace(cluster.ControllerNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": m.Controller}))
	if len(pods.Items) == 0 {
		t.Fatalf("no controller pods labelled app.kubernetes.io/name=%s in %s", m.Controller, cluster.ControllerNamespace)
	}
	for i := range pods.Items {
		cluster.Must(t, cluster.C.Delete(ctx, &pods.Items[i]))
	}
	WaitManual(t, p.RS, p.RD, "r1")
	// The sync used the Job that was running when the controller went away: every
	// TransferStarted event names that Job. (There may be none: the killed controller can
	// lose an event it had not sent yet, and a second Job would have an event of its own.)
	for _, e := range cluster.Events(t, srcNS, p.RS.Name) {
		if e.Reason != "TransferStarted" {
			continue
		}
		if e.Related == nil || e.Related.UID != job.UID {
			t.Fatalf("a second source Job started: event %q related to %+v, the first Job is %s", e.Note, e.Related, job.UID)
		}
	}
	ExpectRestored(t, p.RD, "restore", want, "controller restarted")
}

// CheckDeletion checks that the destination's generated key Secrets belong to it, deletes both
// objects, and checks that what they created goes with them while the user's objects (the
// source PVC, the copied keys) stay.
func CheckDeletion(t *testing.T, m Mover, p *Pair) {
	t.Helper()
	ctx := cluster.Ctx(t, deleteTimeout)
	rs, rd := p.RS, p.RD
	cluster.Must(t, cluster.C.Get(ctx, client.ObjectKeyFromObject(rd), rd))
	generated := m.GeneratedSecrets(rd.Name)
	for _, name := range generated {
		s := &corev1.Secret{}
		cluster.Must(t, cluster.C.Get(ctx, client.ObjectKey{Namespace: rd.Namespace, Name: name}, s))
		if !metav1.IsControlledBy(s, rd) {
			t.Errorf("generated Secret %s is not controlled by its destination: %+v", name, s.OwnerReferences)
		}
	}

	cluster.Must(t, cluster.C.Delete(ctx, rs))
	cluster.Must(t, cluster.C.Delete(ctx, rd))
	gone := []client.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: m.JobName(Destination, rd.Name)}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: "volsync-" + rd.Name + "-dst"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: m.JobName(Destination, rd.Name)}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: "volsync-dst-" + rd.Name}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: rs.Namespace, Name: m.JobName(Source, rs.Name)}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: rs.Namespace, Name: "volsync-" + rs.Name + "-src"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: rs.Namespace, Name: "volsync-src-" + rs.Name}},
	}
	for _, name := range generated {
		gone = append(gone, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rd.Namespace, Name: name}})
	}
	for _, o := range gone {
		cluster.WaitGone(t, deleteTimeout, o)
	}
	cluster.Must(t, cluster.C.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: rs.Spec.SourcePVC}, &corev1.PersistentVolumeClaim{}))
	cluster.Must(t, cluster.C.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: p.Keys}, &corev1.Secret{}))
}
