package rsynctls

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

func TestBadInput(t *testing.T) {
	t.Run("missing key Secret", func(t *testing.T) {
		ns := h.Namespace(t, nil)
		h.SourcePVC(t, ns, "data")
		rs := h.NewSource(ns, "nokey", "data", v1alpha1.CopyMethodClone, nil)
		rs.Spec.RsyncTLS.KeySecret = ptr.To("missing")
		h.Create(t, rs)
		h.WaitError(t, rs, "Secret missing not found")
		h.NoneCreated(t, ns)
	})
	// A key the mover would refuse is refused before any Job starts, with the expected format.
	// "volsync:this-is-not-hex-but-long" passed the controller's old check (16 printable
	// characters) and then failed in every mover pod.
	for name, key := range map[string]string{"malformed PSK": "no-colon-here", "PSK not hex": "volsync:this-is-not-hex-but-long"} {
		t.Run(name, func(t *testing.T) {
			ctx := lifecycle.Context(t)
			ns := h.Namespace(t, nil)
			lifecycle.Must(t, h.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns},
				StringData: map[string]string{PSKKey: key}}))
			rd := h.NewDestination(ns, "badkey", "x")
			rd.Spec.RsyncTLS.KeySecret = ptr.To("bad")
			h.Create(t, rd)
			h.WaitError(t, rd, "Secret bad (keySecret): key psk.txt: malformed PSK: line 1: ")
			c := lifecycle.Synchronizing(lifecycle.Common(rd))
			if !strings.Contains(c.Message, "want one or more lines \"<identity>:<key>\"") || !strings.Contains(c.Message, "32 hexadecimal digits") {
				t.Fatalf("the condition must tell the expected format: %s", c.Message)
			}
			if _, secret, ok := strings.Cut(key, ":"); ok && strings.Contains(c.Message, secret) || strings.Contains(c.Message, key) {
				t.Fatal("the key must never appear in the status")
			}
			jobsList := &batchv1.JobList{}
			lifecycle.Must(t, h.Client.List(ctx, jobsList, client.InNamespace(ns)))
			if len(jobsList.Items) != 0 {
				t.Fatal("a Job was started with a malformed key")
			}
		})
	}
	// missing source PVC, unknown StorageClass
	h.BadVolumeInput(t)
	t.Run("missing moverVolume Secret", func(t *testing.T) {
		ctx := lifecycle.Context(t)
		ns := h.Namespace(t, nil)
		h.SourcePVC(t, ns, "data")
		rs := h.NewSource(ns, "novol", "data", v1alpha1.CopyMethodDirect, nil)
		rs.Spec.RsyncTLS.MoverVolumes = []v1alpha1.MoverVolume{{MountPath: "certs", VolumeSource: v1alpha1.MoverVolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "absent"}}}}
		h.Create(t, rs)
		h.WaitError(t, rs, `moverVolumes[0] (mountPath certs): Secret "absent" not found`)
		h.NoneCreated(t, ns)
		// The user creates it: the next attempt starts the Job.
		lifecycle.Must(t, h.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "absent", Namespace: ns}}))
		h.Poke(t, rs)
		job := h.WaitJob(t, ns, h.JobName(naming.Source, "novol"))
		if v := job.Spec.Template.Spec.Volumes; v[len(v)-1].Secret == nil || v[len(v)-1].Secret.SecretName != "absent" {
			t.Fatalf("moverVolume not mounted: %+v", v)
		}
	})
	t.Run("no address", func(t *testing.T) {
		ns := h.Namespace(t, nil)
		h.SourcePVC(t, ns, "data")
		rs := h.NewSource(ns, "noaddr", "data", v1alpha1.CopyMethodClone, nil)
		rs.Spec.RsyncTLS.Address = nil
		h.Create(t, rs)
		h.WaitError(t, rs, "spec.rsyncTLS.address is required")
		h.NoneCreated(t, ns)
	})
}

// TestMoverFailureBackoff: a failed pod is reported at once; a failed Job is replaced only
// after its backoff delay, carrying the failure count.
func TestMoverFailureBackoff(t *testing.T) { h.MoverFailureBackoff(t) }

// TestOtherMoversIgnored: objects of other movers get no status and no objects.
func TestOtherMoversIgnored(t *testing.T) { h.OtherMoversIgnored(t) }

// TestStalledJobReplaced: a Job that never gets a pod is reported and replaced after
// jobs.JobStartTimeout, the next replacement waits twice as long.
func TestStalledJobReplaced(t *testing.T) { h.StalledJobReplaced(t) }
