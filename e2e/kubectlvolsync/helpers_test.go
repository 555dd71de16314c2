//go:build e2e

package kubectlvolsync

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

const (
	relationshipLabel = "volsync.backube/relationship"
	// goneTimeout bounds the wait for objects a deletion removes through garbage collection.
	goneTimeout = 3 * time.Minute
)

// relationshipID reads the id of relationship name in cfg.
func relationshipID(t *testing.T, cfg, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cfg, name+".yaml"))
	cluster.Must(t, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, found := strings.CutPrefix(line, "id: "); found {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no id in relationship %s:\n%s", name, raw)
	return ""
}

// leftovers lists, in each namespace, what the relationship or its destination left: objects
// labelled with the relationship, VolSync objects, mover Jobs, their Services and Secrets.
func leftovers(t *testing.T, id string, namespaces ...string) []string {
	t.Helper()
	ctx := cluster.Ctx(t, time.Minute)
	var out []string
	for _, ns := range namespaces {
		labelled := []client.ListOption{client.InNamespace(ns), client.MatchingLabels{relationshipLabel: id}}
		secrets := &corev1.SecretList{}
		cluster.Must(t, cluster.C.List(ctx, secrets, labelled...))
		for _, s := range secrets.Items {
			out = append(out, "labelled Secret "+ns+"/"+s.Name)
		}
		all := &corev1.SecretList{}
		cluster.Must(t, cluster.C.List(ctx, all, client.InNamespace(ns)))
		for _, s := range all.Items {
			if strings.HasPrefix(s.Name, "volsync-") {
				out = append(out, "Secret "+ns+"/"+s.Name)
			}
		}
		rss := &v1alpha1.ReplicationSourceList{}
		cluster.Must(t, cluster.C.List(ctx, rss, client.InNamespace(ns)))
		for _, x := range rss.Items {
			out = append(out, "ReplicationSource "+ns+"/"+x.Name)
		}
		rds := &v1alpha1.ReplicationDestinationList{}
		cluster.Must(t, cluster.C.List(ctx, rds, client.InNamespace(ns)))
		for _, x := range rds.Items {
			out = append(out, "ReplicationDestination "+ns+"/"+x.Name)
		}
		jobs := &batchv1.JobList{}
		cluster.Must(t, cluster.C.List(ctx, jobs, client.InNamespace(ns)))
		for _, x := range jobs.Items {
			out = append(out, "Job "+ns+"/"+x.Name)
		}
		svcs := &corev1.ServiceList{}
		cluster.Must(t, cluster.C.List(ctx, svcs, client.InNamespace(ns)))
		for _, x := range svcs.Items {
			out = append(out, "Service "+ns+"/"+x.Name)
		}
	}
	return out
}

// waitNothingLeft waits until leftovers finds nothing.
func waitNothingLeft(t *testing.T, id string, namespaces ...string) {
	t.Helper()
	cluster.Eventually(t, goneTimeout, "the relationship's objects to be gone", func() error {
		if l := leftovers(t, id, namespaces...); len(l) > 0 {
			return fmt.Errorf("left: %s", strings.Join(l, ", "))
		}
		return nil
	})
}

// noFile fails the test if relationship name has a file in cfg.
func noFile(t *testing.T, cfg, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(cfg, name+".yaml")); !os.IsNotExist(err) {
		t.Errorf("relationship file %s exists (err %v)", name, err)
	}
}

// condition returns the Synchronizing condition of a destination.
func condition(rd *v1alpha1.ReplicationDestination) *metav1.Condition {
	if rd.Status == nil {
		return nil
	}
	return meta.FindStatusCondition(rd.Status.Conditions, v1alpha1.ConditionSynchronizing)
}
