package rclone

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	rclonecontract "github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// The scenarios every Job-based mover passes (pkg/testutil/lifecycle), with the rclone
// mover's own checks of its Jobs.

// checkJob checks a mover Job of direction: the environment (the Secret's RCLONE_* keys by
// reference, then the controller's, which win), the configuration volume (rclone.conf only,
// readable by the mover), labels, and no Service.
func checkJob(t *testing.T, obj, direction string, job *batchv1.Job) {
	t.Helper()
	c := lifecycle.CheckMover(t, job, testImage)
	role := naming.Source
	if direction == directionDestination {
		role = naming.Destination
	}
	if l := job.Spec.Template.Labels; l["app.kubernetes.io/component"] != "rclone-mover" || l["app.kubernetes.io/name"] != naming.AppName(role, obj) {
		t.Errorf("mover pod labels: %v", l)
	}
	env := lifecycle.EnvOf(c)
	want := map[string]string{
		rclonecontract.EnvConfig:        "/rclone-config/rclone.conf",
		rclonecontract.EnvDestPath:      destPath,
		rclonecontract.EnvConfigSection: section,
		rclonecontract.EnvDirection:     direction,
		rclonecontract.EnvMountPath:     contract.DataDir,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s=%q, want %q", k, env[k], v)
		}
	}
	// The Secret's RCLONE_* keys come by reference, sorted, before the controller's; the
	// reserved names and keys without the prefix are not passed.
	var refs []string
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != configSecret || ref.Key != e.Name || !ptr.Deref(ref.Optional, false) {
				t.Errorf("env %s: %+v", e.Name, ref)
			}
			refs = append(refs, e.Name)
		}
		if strings.Contains(e.Value, "SECRETVALUE") {
			t.Errorf("a secret value is in the Job: %s", e.Name)
		}
	}
	if !slices.Equal(refs, []string{"RCLONE_S3_ACL", "RCLONE_TRANSFERS"}) {
		t.Errorf("Secret keys passed as env: %v", refs)
	}
	v := lifecycle.SecretVolume(t, job, rclonecontract.ConfigDir, configSecret)
	if len(v.Items) != 1 || v.Items[0].Key != "rclone.conf" || v.Items[0].Path != "rclone.conf" {
		t.Errorf("configuration volume items: %+v", v.Items)
	}
	if a := lifecycle.KeyFileAccess(t, job.Spec.Template.Spec, "rclone", rclonecontract.ConfigDir, "rclone.conf"); !a.CanRead() {
		t.Errorf("the mover (uid %d, groups %v) cannot read rclone.conf (mode %#o)", a.UID, a.Groups, a.Mode)
	}
	if _, ok := env[rclonecontract.EnvCustomCA]; ok {
		t.Errorf("CUSTOM_CA set without customCA")
	}
}

func checkSourceJob(t *testing.T, rs *v1alpha1.ReplicationSource, job *batchv1.Job) {
	t.Helper()
	checkJob(t, rs.Name, directionSource, job)
	lifecycle.CheckUnprivileged(t, job)
}

func checkDestinationJob(t *testing.T, rd *v1alpha1.ReplicationDestination, job *batchv1.Job) {
	t.Helper()
	checkJob(t, rd.Name, directionDestination, job)
	svcs := &corev1.ServiceList{}
	lifecycle.Must(t, h.Client.List(lifecycle.Context(t), svcs))
	for _, s := range svcs.Items {
		if s.Namespace == rd.Namespace {
			t.Errorf("an rclone destination needs no Service, found %s", s.Name)
		}
	}
}

// TestScenarios: the shared scenarios, with the rclone mover's checks; a privileged mover
// runs as root with what restoring ownership and modes needs.
func TestScenarios(t *testing.T) {
	h.Scenarios(t, lifecycle.Checks{Source: checkSourceJob, Destination: checkDestinationJob,
		PrivilegedCaps: []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"}})
}
