package restic

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	resticcontract "github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// The scenarios every Job-based mover passes (pkg/testutil/lifecycle), with the restic
// mover's own checks of its Jobs.

// checkJob checks a mover Job of role: its actions, the repository Secret's keys by
// reference (required ones not optional), the cache PVC mounted at /cache, the Google
// credentials file, the shared host name of the object's pods, and the retry tuning.
func checkJob(t *testing.T, obj string, role naming.Role, job *batchv1.Job, args ...string) {
	t.Helper()
	c := lifecycle.CheckMover(t, job, testImage, args...)
	if l := job.Spec.Template.Labels; l["app.kubernetes.io/component"] != "restic-mover" || l["app.kubernetes.io/name"] != naming.AppName(role, obj) {
		t.Errorf("mover pod labels: %v", l)
	}
	if want := "volsync-" + role.Abbrev() + "-" + obj; job.Name != want {
		t.Errorf("Job %s, want %s", job.Name, want)
	}
	env := lifecycle.EnvOf(c)
	if env[resticcontract.EnvCacheDir] != resticcontract.CacheDir {
		t.Errorf("env %s=%q", resticcontract.EnvCacheDir, env[resticcontract.EnvCacheDir])
	}
	if env[resticcontract.EnvGoogleCredentials] != "/credentials/gcs.json" {
		t.Errorf("env %s=%q", resticcontract.EnvGoogleCredentials, env[resticcontract.EnvGoogleCredentials])
	}
	var refs []string
	for _, e := range c.Env {
		if strings.Contains(e.Value, "SECRET") {
			t.Errorf("a secret value is in the Job: %s", e.Name)
		}
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		required := e.Name == resticcontract.EnvRepository || e.Name == resticcontract.EnvPassword
		if ref.Name != repoSecret || ref.Key != e.Name || ptr.Deref(ref.Optional, false) == required {
			t.Errorf("env %s: %+v", e.Name, ref)
		}
		refs = append(refs, e.Name)
	}
	want := []string{"RESTIC_REPOSITORY", "RESTIC_PASSWORD", "RESTIC_COMPRESSION", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "RCLONE_CONFIG_REMOTE_TYPE"}
	if !slices.Equal(refs, want) {
		t.Errorf("Secret keys passed as env: %v, want %v", refs, want)
	}
	v, _ := lifecycle.Volume(t, job, resticcontract.CacheDir)
	if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "volsync-"+role.Abbrev()+"-"+obj+"-cache" {
		t.Errorf("cache volume: %+v", v.VolumeSource)
	}
	gcs := lifecycle.SecretVolume(t, job, resticcontract.CredentialsDir, repoSecret)
	if len(gcs.Items) != 1 || gcs.Items[0].Key != "GOOGLE_APPLICATION_CREDENTIALS" || gcs.Items[0].Path != "gcs.json" {
		t.Errorf("credentials volume items: %+v", gcs.Items)
	}
	if a := lifecycle.KeyFileAccess(t, job.Spec.Template.Spec, "restic", resticcontract.CredentialsDir, "gcs.json"); !a.CanRead() {
		t.Errorf("the mover (uid %d, groups %v) cannot read gcs.json (mode %#o)", a.UID, a.Groups, a.Mode)
	}
	if _, ok := env[resticcontract.EnvCustomCA]; ok {
		t.Errorf("CUSTOM_CA set without customCA")
	}
	if hn := job.Spec.Template.Spec.Hostname; hn != lockHost(role, job.Namespace, obj) || len(hn) > 63 {
		t.Errorf("pod hostname %q", hn)
	}
	if ptr.Deref(job.Spec.BackoffLimit, 0) != backoffLimit {
		t.Errorf("backoffLimit %v", job.Spec.BackoffLimit)
	}
	p := job.Spec.PodFailurePolicy
	if p == nil || len(p.Rules) != 1 || p.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob ||
		p.Rules[0].OnExitCodes == nil || !slices.Equal(p.Rules[0].OnExitCodes.Values, []int32{resticcontract.ExitUserAction}) {
		t.Errorf("pod failure policy %+v", p)
	}
}

func checkSourceJob(t *testing.T, rs *v1alpha1.ReplicationSource, job *batchv1.Job) {
	t.Helper()
	// Created just now: no prune is due yet; no unlock asked for.
	checkJob(t, rs.Name, naming.Source, job, resticcontract.ActionBackup)
	if env := lifecycle.EnvOf(lifecycle.Container(t, job)); env[resticcontract.EnvForgetOptions] != "--keep-last 1" {
		t.Errorf("FORGET_OPTIONS %q", env[resticcontract.EnvForgetOptions])
	}
	lifecycle.CheckUnprivileged(t, job)
}

func checkDestinationJob(t *testing.T, rd *v1alpha1.ReplicationDestination, job *batchv1.Job) {
	t.Helper()
	checkJob(t, rd.Name, naming.Destination, job, resticcontract.ActionRestore)
	env := lifecycle.EnvOf(lifecycle.Container(t, job))
	for k, v := range map[string]string{resticcontract.EnvRestoreAsOf: "", resticcontract.EnvSelectPrevious: "0", resticcontract.EnvRestoreOptions: ""} {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("env %s=%q, want %q", k, got, v)
		}
	}
}

// TestScenarios: the shared scenarios, with the restic mover's checks; a privileged mover
// runs as root with what restoring ownership and reading every file needs.
func TestScenarios(t *testing.T) {
	h.Scenarios(t, lifecycle.Checks{Source: checkSourceJob, Destination: checkDestinationJob,
		PrivilegedCaps: []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"}})
}
