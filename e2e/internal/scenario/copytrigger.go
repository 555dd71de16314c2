//go:build e2e

package scenario

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// UseCopyTrigger annotates a source PVC with volsync.backube/use-copy-trigger: its sources
// copy it (Clone, Snapshot) only once volsync.backube/copy-trigger takes a new value.
func UseCopyTrigger(t *testing.T, ns, pvc string) {
	t.Helper()
	setPVCAnnotation(t, ns, pvc, v1alpha1.UseCopyTriggerAnnotation, "")
}

// SetCopyTrigger sets a source PVC's volsync.backube/copy-trigger to value.
func SetCopyTrigger(t *testing.T, ns, pvc, value string) {
	t.Helper()
	setPVCAnnotation(t, ns, pvc, v1alpha1.CopyTriggerAnnotation, value)
}

func setPVCAnnotation(t *testing.T, ns, pvc, key, value string) {
	t.Helper()
	obj := &corev1.PersistentVolumeClaim{}
	obj.Namespace, obj.Name = ns, pvc
	Update(t, obj, "annotation "+key+" of PVC "+pvc, func(p *corev1.PersistentVolumeClaim) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[key] = value
	})
}

// WaitCopyStatus waits (SyncTimeout) until a source PVC's volsync.backube/latest-copy-status
// is status, and returns the PVC's annotations.
func WaitCopyStatus(t *testing.T, ns, pvc, status string) map[string]string {
	t.Helper()
	ctx := cluster.Ctx(t, SyncTimeout+time.Minute)
	obj := &corev1.PersistentVolumeClaim{}
	cluster.Eventually(t, SyncTimeout, "PVC "+pvc+" copy status "+status, func() error {
		if err := cluster.C.Get(ctx, client.ObjectKey{Namespace: ns, Name: pvc}, obj); err != nil {
			return err
		}
		if got := obj.Annotations[v1alpha1.LatestCopyStatusAnnotation]; got != status {
			return fmt.Errorf("annotations %v", obj.Annotations)
		}
		return nil
	})
	return obj.Annotations
}
