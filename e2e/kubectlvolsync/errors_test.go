//go:build e2e

package kubectlvolsync

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// TestErrors: bad input gets a clear error and changes nothing.
func TestErrors(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, "kvs-err")
	cfg := t.TempDir()
	rep := func(args ...string) []string { return append([]string{"replication", "-r", "r"}, args...) }

	fails(t, cfg, rep("sync"), "relationship not found", `"r"`)
	ok(t, cfg, rep("create")...)
	before, err := os.ReadFile(filepath.Join(cfg, "r.yaml"))
	cluster.Must(t, err)
	fails(t, cfg, rep("create"), "relationship exists")
	fails(t, cfg, rep("sync"), "set-source")
	fails(t, cfg, rep("set-source", "--pvcname", "data"), "[context/]namespace/name")
	fails(t, cfg, rep("set-destination", "--destination", ns+"/d", "--copymethod", "Clone"), "cannot use Clone")
	fails(t, cfg, rep("set-destination", "--destination", ns+"/d", "--servicetype", "NodePort"), "ClusterIP or LoadBalancer")
	fails(t, cfg, rep("schedule", "--cronspec", "0 0 * * * *"), "invalid cronspec")
	fails(t, cfg, rep("schedule", "--cronspec", "*/5 * * * *"), "set-source")
	fails(t, cfg, []string{"migration", "-r", "r", "rsync", "--source", cfg}, "not of the correct type")
	after, err := os.ReadFile(filepath.Join(cfg, "r.yaml"))
	cluster.Must(t, err)
	if string(after) != string(before) {
		t.Errorf("failed commands changed the relationship:\n%s\nwas\n%s", after, before)
	}

	ok(t, cfg, rep("set-source", "--pvcname", ns+"/missing", "--copymethod", "Snapshot")...)
	fails(t, cfg, rep("sync"), "set-destination")
	ok(t, cfg, rep("set-destination", "--destination", ns+"/d", "--copymethod", "Direct", "--servicetype", "ClusterIP")...)
	fails(t, cfg, rep("sync"), "source PVC "+ns+"/missing", "not found")
	id := relationshipID(t, cfg, "r")
	if l := leftovers(t, id, ns); len(l) > 0 {
		t.Errorf("a failed sync left %v", l)
	}

	// migration create: a missing PVC needs a capacity; nothing is created.
	mig := func(args ...string) []string { return append([]string{"migration", "-r", "m"}, args...) }
	fails(t, cfg, mig("create", "--pvcname", ns+"/newdata", "--servicetype", "ClusterIP"), "--capacity is required")
	noFile(t, cfg, "m")
	// A failure after the PVC and the destination were created removes both and writes no file.
	fails(t, cfg, mig("create", "--pvcname", ns+"/newdata", "--capacity", "1Gi", "--servicetype", "ClusterIP", "--timeout", "1ms"),
		"timed out", "removing ReplicationDestination", "removing PersistentVolumeClaim")
	noFile(t, cfg, "m")
	cluster.WaitGone(t, time.Minute, &v1alpha1.ReplicationDestination{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns + "-newdata-migration-dest"}})
	cluster.WaitGone(t, time.Minute, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "newdata"}})
	fails(t, cfg, mig("delete"), "relationship not found")
	fails(t, cfg, mig("rsync", "--source", "/nonexistent"), "--source")
}
