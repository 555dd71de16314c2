package rsynctls

import (
	"fmt"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// checkServerJob checks a destination's server Job, its Service, the generated key and what
// the destination publishes for its source.
func checkServerJob(t *testing.T, rd *v1alpha1.ReplicationDestination, job *batchv1.Job) {
	t.Helper()
	lifecycle.CheckMover(t, job, testImage, "server")
	lifecycle.SecretVolume(t, job, keysMountPath, keySecretName(rd.Name))
	svc := h.CheckService(t, rd, job)
	if p := svc.Spec.Ports; len(p) != 1 || p[0].Port != DefaultPort || p[0].TargetPort.IntValue() != int(DefaultPort) {
		t.Fatalf("service ports: %+v", p)
	}
	lifecycle.Eventually(t, "status address and key", func() error {
		lifecycle.Must(t, h.Get(lifecycle.Context(t), rd.Namespace, rd.Name, rd))
		st := rd.Status.RsyncTLS
		if st == nil || ptr.Deref(st.Address, "") != svc.Spec.ClusterIP || ptr.Deref(st.KeySecret, "") != keySecretName(rd.Name) {
			return fmt.Errorf("rsyncTLS status: %+v", st)
		}
		return nil
	})
	key := &corev1.Secret{}
	lifecycle.Must(t, h.Get(lifecycle.Context(t), rd.Namespace, keySecretName(rd.Name), key))
	if checkPSK(key.Data[PSKKey]) != nil || !strings.HasPrefix(string(key.Data[PSKKey]), "volsync:") || len(key.Data[PSKKey]) != len("volsync:")+128 {
		t.Fatalf("generated PSK has the wrong form (length %d)", len(key.Data[PSKKey]))
	}
}

// TestDestinationLifecycle follows a snapshot destination through three manual syncs: volume,
// Service, key, Job, image, status, events, metrics, image rotation and cleanup.
func TestDestinationLifecycle(t *testing.T) { h.DestinationLifecycle(t, checkServerJob) }

// TestDestinationQuietAtRest: a Direct destination syncs into its PVC, and an idle destination
// is not written again.
func TestDestinationQuietAtRest(t *testing.T) { h.DestinationDirect(t, checkServerJob) }
