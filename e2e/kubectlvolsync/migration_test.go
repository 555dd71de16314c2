//go:build e2e

package kubectlvolsync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// TestMigration: a directory of this machine copied into a new PVC twice; the second run
// sends only what changed, and between the runs the destination runs no listener. "delete"
// leaves the PVC with the data and nothing else.
func TestMigration(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, "kvs-mig")
	src := t.TempDir()
	for i := range 20 {
		write(t, src, fmt.Sprintf("dir%d/file%d.txt", i%3, i), strings.Repeat(fmt.Sprintf("line %d\n", i), i+1))
	}
	write(t, src, "top.txt", "top\n")
	cfg := t.TempDir()
	const rel = "mig"
	ok(t, cfg, "migration", "-r", rel, "create", "--pvcname", ns+"/data", "--capacity", "1Gi", "--servicetype", "ClusterIP")
	id := relationshipID(t, cfg, rel)
	rd := &v1alpha1.ReplicationDestination{}
	rdKey := client.ObjectKey{Namespace: ns, Name: ns + "-data-migration-dest"}
	cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), rdKey, rd))
	if rd.Spec.Rsync.CopyMethod != v1alpha1.CopyMethodDirect || rd.Spec.Trigger == nil || rd.Spec.Trigger.Manual == "" || rd.Labels[relationshipLabel] != id {
		t.Errorf("migration destination: copyMethod %q, trigger %+v, labels %v", rd.Spec.Rsync.CopyMethod, rd.Spec.Trigger, rd.Labels)
	}

	out := ok(t, cfg, "migration", "-r", rel, "rsync", "--source", src+"/")
	if n := stat(t, out, "Number of regular files transferred"); n != 21 {
		t.Errorf("first run transferred %d files, want 21", n)
	}
	compare(t, ns, src)
	idle(t, rdKey)

	write(t, src, "dir1/file1.txt", "changed\n")
	write(t, src, "new/added.txt", "added\n")
	cluster.Must(t, os.Remove(filepath.Join(src, "dir2", "file2.txt")))
	out = ok(t, cfg, "migration", "-r", rel, "rsync", "--source", src+"/")
	if n := stat(t, out, "Number of regular files transferred"); n != 2 {
		t.Errorf("second run transferred %d files, want the 2 changed ones", n)
	}
	if n := stat(t, out, "Number of deleted files"); n != 1 {
		t.Errorf("second run deleted %d files, want 1", n)
	}
	compare(t, ns, src)
	idle(t, rdKey)

	ok(t, cfg, "migration", "-r", rel, "delete")
	noFile(t, cfg, rel)
	waitNothingLeft(t, id, ns)
	compare(t, ns, src)
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	cluster.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	cluster.Must(t, os.WriteFile(p, []byte(content), 0o644))
}

// stat returns the number rsync's statistics print after label.
func stat(t *testing.T, out, label string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `: ([0-9,]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in the output", label)
	}
	n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	cluster.Must(t, err)
	return n
}

// compare checks that the PVC holds exactly the files of dir, with the same contents.
func compare(t *testing.T, ns, dir string) {
	t.Helper()
	var want []string
	cluster.Must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(raw)
		want = append(want, hex.EncodeToString(sum[:])+"  ./"+rel)
		return nil
	}))
	slices.Sort(want)
	out := volume.Run(t, ns, "data", `cd /data && find . -path ./lost+found -prune -o -type f -exec sha256sum {} + | sort`)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			got = append(got, line)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("the PVC holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// idle checks the fix of the reference's restarting listener: after a transfer the
// destination waits for the next manual trigger and runs no mover Job.
func idle(t *testing.T, key client.ObjectKey) {
	t.Helper()
	rd := &v1alpha1.ReplicationDestination{}
	cluster.Eventually(t, time.Minute, "the migration destination to be idle", func() error {
		cluster.Must(t, cluster.C.Get(cluster.Ctx(t, time.Minute), key, rd))
		c := condition(rd)
		if c == nil || c.Reason != v1alpha1.SynchronizingReasonManual {
			return fmt.Errorf("condition %+v", c)
		}
		jobs := &batchv1.JobList{}
		cluster.Must(t, cluster.C.List(cluster.Ctx(t, time.Minute), jobs, client.InNamespace(key.Namespace)))
		if len(jobs.Items) > 0 {
			return fmt.Errorf("mover Job %s still there", jobs.Items[0].Name)
		}
		return nil
	})
	if ms := rd.Status.LatestMoverStatus; ms == nil || ms.Result != v1alpha1.MoverResultSuccessful {
		t.Errorf("latestMoverStatus %+v", rd.Status.LatestMoverStatus)
	}
}
