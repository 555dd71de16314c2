//go:build e2e

package restic

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// moverUID is the uid (and gid) of unprivileged movers in a namespace that does not choose one:
// the owner of what restic writes in a repository on a PVC (directories 0700).
const moverUID int64 = 65534

// backupStarted is what the mover logs as it starts backing up.
var backupStarted = regexp.MustCompile(`(?i)=== backup|start (scan|backup)|parent snapshot`)

// watchLocks waits, on a repository volume, until restic holds a lock, and prints the locks.
const watchLocks = `until [ -n "$(ls -A /data/locks 2>/dev/null)" ]; do sleep 0.1; done; echo "LOCKED $(ls /data/locks)"`

// killRestic SIGKILLs the restic processes of a mover pod (no chance to remove its lock, as
// when a node dies or the kernel's OOM killer strikes) and says which it killed.
const killRestic = `for p in /proc/[0-9]*; do if [ "$(cat $p/comm 2>/dev/null)" = restic ]; then kill -9 ${p#/proc/} && echo "killed ${p#/proc/}"; fi; done`

// staleLock: restic is killed (SIGKILL) in the mover pod of a backup of a sizeable volume while
// it holds the repository's lock (the repository on a PVC, watched by a pod that sees the lock
// appear), so its lock stays; the mover pod fails, the Job's next pod (the same host name)
// removes the lock its predecessor left and completes the backup, no lock stays behind, and the
// backup restores intact. A backup with spec.restic.unlock
// records it in status.restic.lastUnlocked.
func staleLock(t *testing.T) {
	ns := pvcRepository(t, "lock")
	want := volume.Fill(t, ns, "data", "SMALL_FILES=2000 BIG_MB=400 ")
	watcher := volume.Watch(t, ns, "lock-watch", "repo", moverUID, moverUID, watchLocks)

	rs := newSource(ns, "src", "data", v1alpha1.CopyMethodDirect, manual("b1"))
	rs.Spec.Restic.MoverVolumes = pvcVolume("repo", "repo")
	create(t, rs)
	pod, _ := waitMoverLog(t, ns, jobName(scenario.Source, rs.Name), backupStarted)
	var locks string
	cluster.Eventually(t, scenario.SyncTimeout, "restic to lock the repository", func() error {
		if locks = cluster.Logs(t, ns, watcher.Name); !strings.Contains(locks, "LOCKED") {
			return fmt.Errorf("watcher: %q", locks)
		}
		return nil
	})
	// The exec itself may end with an error (exit 137): the container stops with restic.
	killed, err := cluster.Exec(t, ns, pod.Name, "restic", "bash", "-c", killRestic)
	if !strings.Contains(killed, "killed") {
		t.Fatalf("killing restic in %s: %q, %v (the backup may have finished: make the volume larger)", pod.Name, killed, err)
	}
	var log string
	cluster.Eventually(t, scenario.SyncTimeout, "the mover pod to fail", func() error {
		cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), client.ObjectKeyFromObject(pod), pod))
		if pod.Status.Phase != corev1.PodFailed {
			return fmt.Errorf("pod %s is %s", pod.Name, pod.Status.Phase)
		}
		log = cluster.Logs(t, ns, pod.Name)
		return nil
	})
	t.Logf("%s in mover pod %s holding %s; its log:\n%s", strings.TrimSpace(killed), pod.Name, strings.TrimSpace(locks), log)
	for _, re := range backupLogs[1:] {
		if re.MatchString(log) {
			t.Fatalf("the backup had finished (%q) before its pod was killed: make the volume larger", re)
		}
	}
	backup(t, rs, "b1")
	if left := volume.RunAs(t, ns, "repo", moverUID, moverUID, "ls -A /data/locks"); strings.TrimSpace(left) != "" {
		t.Errorf("locks left in the repository after the backup: %s", left)
	}

	// spec.restic.unlock: the next backup unlocks first, and says so.
	scenario.Update(t, rs, "unlock u1", func(o *v1alpha1.ReplicationSource) { o.Spec.Restic.Unlock = "u1" })
	backup(t, rs, "b2")
	if r := rs.Status.Restic; r == nil || r.LastUnlocked != "u1" {
		t.Errorf("status.restic %+v after a backup with unlock u1, want lastUnlocked u1", r)
	}

	create(t, volume.NewPVC(ns, "mine", nil))
	rd := intoPVC(newDestination(ns, "dst", "r1"), "mine")
	rd.Spec.Restic.MoverVolumes = pvcVolume("repo", "repo")
	restoreDirect(t, rd, restoredLogs)
	expectDigest(t, ns, "mine", want, "backup completed after a killed mover")
}
