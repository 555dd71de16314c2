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
	var out []string
	all := func(client.Object) bool { return true }
	for _, ns := range namespaces {
		out = append(out, listed(t, "labelled Secret", &corev1.SecretList{}, all, client.InNamespace(ns), client.MatchingLabels{relationshipLabel: id})...)
		out = append(out, listed(t, "Secret", &corev1.SecretList{}, func(o client.Object) bool {
			return strings.HasPrefix(o.GetName(), "volsync-")
		}, client.InNamespace(ns))...)
		out = append(out, listed(t, "ReplicationSource", &v1alpha1.ReplicationSourceList{}, all, client.InNamespace(ns))...)
		out = append(out, listed(t, "ReplicationDestination", &v1alpha1.ReplicationDestinationList{}, all, client.InNamespace(ns))...)
		out = append(out, listed(t, "Job", &batchv1.JobList{}, all, client.InNamespace(ns))...)
		out = append(out, listed(t, "Service", &corev1.ServiceList{}, all, client.InNamespace(ns))...)
	}
	return out
}

// listed lists list with opts and returns "<what> <namespace>/<name>" for each object keep accepts.
func listed(t *testing.T, what string, list client.ObjectList, keep func(client.Object) bool, opts ...client.ListOption) []string {
	t.Helper()
	cluster.Must(t, cluster.C.List(cluster.Ctx(t, time.Minute), list, opts...))
	items, err := meta.ExtractList(list)
	cluster.Must(t, err)
	var out []string
	for _, item := range items {
		if o, ok := item.(client.Object); ok && keep(o) {
			out = append(out, what+" "+o.GetNamespace()+"/"+o.GetName())
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
