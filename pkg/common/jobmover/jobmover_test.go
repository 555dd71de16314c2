package jobmover

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/pit"
)

var testKind = Kind{Name: "rsync", Container: "rsync", Component: "rsync-mover", PrivilegedCaps: []corev1.Capability{"CHOWN"}}

func side(role naming.Role, env mover.Env, annotations map[string]string) Side {
	owner := &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", Annotations: annotations}}
	return NewSide(testKind, "img", env, owner, role)
}

// TestSideNames: Job, pod labels and provisioned volume keep the reference's names.
func TestSideNames(t *testing.T) {
	src, dst := side(naming.Source, mover.Env{}, nil), side(naming.Destination, mover.Env{}, nil)
	if src.JobName() != "volsync-rsync-src-app" || dst.JobName() != "volsync-rsync-dst-app" {
		t.Errorf("Job names %s %s", src.JobName(), dst.JobName())
	}
	if dst.ProvisionedPVC() != "volsync-app-dst" {
		t.Errorf("provisioned PVC %s", dst.ProvisionedPVC())
	}
	want := map[string]string{"app.kubernetes.io/name": "dst-app", "app.kubernetes.io/component": "rsync-mover", "app.kubernetes.io/part-of": "volsync"}
	if got := dst.PodLabels(); !maps.Equal(got, want) {
		t.Errorf("pod labels %v, want %v", got, want)
	}
	if src.Debug() || !side(naming.Source, mover.Env{}, map[string]string{v1alpha1.EnableDebugMoverAnnotation: ""}).Debug() {
		t.Error("Debug follows the debug annotation")
	}
}

// TestSpec: only a destination may write its data volume; the proxy environment goes only to
// movers that use it; a privileged namespace gives the kind's capabilities.
func TestSpec(t *testing.T) {
	proxy := []corev1.EnvVar{{Name: "HTTPS_PROXY", Value: "http://proxy:3128"}}
	env := mover.Env{Privileged: true, ProxyEnv: proxy}
	j := Job{Args: []string{"source"}, CopyMethod: v1alpha1.CopyMethodDirect}
	src := side(naming.Source, env, nil).Spec(j, "sa")
	if src.WritableData || src.Proxy != nil || !src.Privileged || !slices.Equal(src.PrivilegedCaps, testKind.PrivilegedCaps) ||
		!src.Direct || src.ServiceAccount != "sa" || src.Image != "img" || src.Container != "rsync" || src.Name != "volsync-rsync-src-app" {
		t.Errorf("source spec: %+v", src)
	}
	dst := side(naming.Destination, mover.Env{ProxyEnv: proxy}, nil)
	if s := dst.Spec(Job{CopyMethod: v1alpha1.CopyMethodSnapshot}, "sa"); !s.WritableData || s.Proxy != nil || s.Privileged || s.Direct {
		t.Errorf("destination spec: %+v", s)
	}
	dst.UsesProxy = true
	if s := dst.Spec(Job{}, "sa"); !slices.Equal(s.Proxy, proxy) {
		t.Errorf("proxy of a mover that uses it: %v", s.Proxy)
	}
}

func TestFinish(t *testing.T) {
	status := &v1alpha1.MoverStatus{Result: v1alpha1.MoverResultSuccessful}
	done, res, err := Finish(jobs.Outcome{Phase: jobs.Succeeded, MoverStatus: status, Result: &jobs.Result{BytesSent: 10, FilesTransferred: 2}})
	if !done || err != nil || res.MoverStatus != status || res.Transfer == nil || *res.Transfer != (mover.Transfer{Bytes: 10, Files: 2}) {
		t.Errorf("succeeded: %v %+v %v", done, res, err)
	}
	failure := errors.New("transfer failed")
	done, res, err = Finish(jobs.Outcome{Phase: jobs.Failed, Err: failure, RetryAfter: time.Minute})
	var retry *mover.RetryError
	if done || !errors.Is(err, failure) || !errors.As(err, &retry) || retry.After != time.Minute || res.Transfer != nil {
		t.Errorf("failed: %v %+v %v", done, res, err)
	}
	done, res, err = Finish(jobs.Outcome{RetryAfter: 5 * time.Second})
	if done || err != nil || res.RetryAfter != 5*time.Second {
		t.Errorf("running: %v %+v %v", done, res, err)
	}
}

func TestWithHint(t *testing.T) {
	for _, tc := range []struct {
		res, hint, want time.Duration
	}{
		{0, 0, 0}, {0, 10 * time.Second, 10 * time.Second}, {time.Minute, 10 * time.Second, 10 * time.Second},
		{5 * time.Second, 10 * time.Second, 5 * time.Second},
	} {
		if got := WithHint(mover.Result{RetryAfter: tc.res}, &pit.Wait{RequeueAfter: tc.hint}); got.RetryAfter != tc.want {
			t.Errorf("WithHint(%s, %s) = %s, want %s", tc.res, tc.hint, got.RetryAfter, tc.want)
		}
	}
	if got := WithHint(mover.Result{RetryAfter: time.Second}, nil); got.RetryAfter != time.Second {
		t.Errorf("no hint: %s", got.RetryAfter)
	}
}

func TestDirectAndReadOnly(t *testing.T) {
	for m, want := range map[v1alpha1.CopyMethodType]bool{
		v1alpha1.CopyMethodDirect: true, v1alpha1.CopyMethodNone: true, v1alpha1.CopyMethodClone: false, v1alpha1.CopyMethodSnapshot: false,
	} {
		if Direct(m) != want {
			t.Errorf("Direct(%s) = %v", m, !want)
		}
	}
	pvc := func(spec, status []corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{AccessModes: spec},
			Status: corev1.PersistentVolumeClaimStatus{AccessModes: status}}
	}
	rox, rwo := []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	for _, tc := range []struct {
		pvc  *corev1.PersistentVolumeClaim
		want bool
	}{
		{pvc(rox, nil), true}, {pvc(rwo, rox), true}, {pvc(rox, rwo), false}, {pvc(rwo, nil), false},
		{pvc(append(rox, corev1.ReadWriteOnce), nil), false},
	} {
		if got := ReadOnly(tc.pvc); got != tc.want {
			t.Errorf("ReadOnly(spec %v, status %v) = %v", tc.pvc.Spec.AccessModes, tc.pvc.Status.AccessModes, got)
		}
	}
}
