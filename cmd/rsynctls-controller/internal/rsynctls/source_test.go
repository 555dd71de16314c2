package rsynctls

import (
	"fmt"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// checkClientJob checks a source's client Job and the generated key it publishes.
func checkClientJob(t *testing.T, rs *v1alpha1.ReplicationSource, job *batchv1.Job) {
	t.Helper()
	c := lifecycle.CheckMover(t, job, testImage, "client")
	if env := lifecycle.EnvOf(c); env["DESTINATION_ADDRESS"] != "dest.example.com" || env["DESTINATION_PORT"] != "8000" {
		t.Fatalf("env: %v", env)
	}
	lifecycle.SecretVolume(t, job, keysMountPath, keySecretName(rs.Name))
	lifecycle.Eventually(t, "generated key in status", func() error {
		lifecycle.Must(t, h.Get(lifecycle.Context(t), rs.Namespace, rs.Name, rs))
		if rs.Status == nil || rs.Status.RsyncTLS == nil || ptr.Deref(rs.Status.RsyncTLS.KeySecret, "") != keySecretName(rs.Name) {
			return fmt.Errorf("status: %+v", rs.Status)
		}
		return nil
	})
}

// TestSourceClone follows a Clone source through one manual sync.
func TestSourceClone(t *testing.T) { h.SourceClone(t, checkClientJob) }

// TestSourceSnapshot: the PVC is restored from the snapshot only once it is bound and ready.
func TestSourceSnapshot(t *testing.T) { h.SourceSnapshot(t, checkClientJob) }

// TestSourceDirectCoSchedules pins the mover next to the application pod of an RWO volume.
func TestSourceDirectCoSchedules(t *testing.T) { h.SourceDirect(t, checkClientJob) }

// TestMoverVolumePlacesMover: with nothing else placing the mover (Direct on a volume no pod
// uses), it runs next to the users of its first PVC moverVolume, as in the reference.
func TestMoverVolumePlacesMover(t *testing.T) {
	ns := h.Namespace(t, nil)
	h.SourcePVC(t, ns, "data")
	h.SourcePVC(t, ns, "extra")
	h.RunningApp(t, ns, "extra")

	rs := h.NewSource(ns, "withvol", "data", v1alpha1.CopyMethodDirect, nil)
	rs.Spec.RsyncTLS.MoverVolumes = []v1alpha1.MoverVolume{{MountPath: "extra", VolumeSource: v1alpha1.MoverVolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "extra"}}}}
	h.Create(t, rs)
	job := h.WaitJob(t, ns, h.JobName(naming.Source, "withvol"))
	if got := job.Spec.Template.Spec.NodeSelector["kubernetes.io/hostname"]; got != "host-"+ns {
		t.Fatalf("mover not placed with its moverVolume's users: nodeSelector %v", job.Spec.Template.Spec.NodeSelector)
	}
}

// TestSourceSchedule checks nextSyncTime, schedule-driven syncs and a missed interval.
func TestSourceSchedule(t *testing.T) { h.SourceSchedule(t) }

// TestPaused: a paused source's Job runs nothing; unpausing lets it run.
func TestPaused(t *testing.T) { h.Paused(t) }

// TestPrivilegedMover: the namespace opt-in runs both movers as root with rsync's
// capabilities.
func TestPrivilegedMover(t *testing.T) { h.PrivilegedMover(t, kind.PrivilegedCaps) }
