package jobs

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func owner() *v1alpha1.ReplicationSource {
	return &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "app", UID: "uid-1"}}
}

func baseSpec() Spec {
	return Spec{
		Name: "volsync-rsync-tls-src-db", Owner: owner(), Container: "rsync-tls", Image: "mover:1",
		Args: []string{"client"}, ServiceAccount: "volsync-src-db",
		Data:   &Data{PVC: &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}}},
		Labels: map[string]string{"app.kubernetes.io/name": "src-db"},
	}
}

func env(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

func TestBuildSecureDefaults(t *testing.T) {
	job := Build(baseSpec())
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	if *sc.AllowPrivilegeEscalation || *sc.Privileged || !*sc.ReadOnlyRootFilesystem || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("insecure container security context: %+v", sc)
	}
	if len(sc.Capabilities.Add) != 0 || sc.RunAsUser != nil {
		t.Errorf("unprivileged mover must not add capabilities or run as root: %+v", sc)
	}
	if !*pod.SecurityContext.RunAsNonRoot || *pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("unprivileged mover must run as non-root: %+v", pod.SecurityContext)
	}
	if pod.SecurityContext.FSGroup != nil {
		t.Error("a mover must not set fsGroup on a volume it only reads (the kubelet would change the user's files)")
	}
	writable := baseSpec()
	writable.WritableData = true
	if fs := Build(writable).Spec.Template.Spec.SecurityContext.FSGroup; fs == nil || *fs != 65534 {
		t.Error("a destination volume must be made writable for the unprivileged mover")
	}
	if v, _ := env(c, EnvPrivileged); v != "0" {
		t.Errorf("%s = %q, want 0", EnvPrivileged, v)
	}
	if *job.Spec.Parallelism != 1 || *job.Spec.BackoffLimit != DefaultBackoffLimit || pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("job spec: %+v", job.Spec)
	}
	if *pod.AutomountServiceAccountToken {
		t.Error("movers need no API token")
	}
	if job.Labels[v1alpha1.CleanupLabel] != "uid-1" || job.Labels[v1alpha1.CreatedByLabel] != "volsync" ||
		job.Spec.Template.Labels[v1alpha1.CreatedByLabel] != "volsync" || job.Spec.Template.Labels["app.kubernetes.io/name"] != "src-db" {
		t.Errorf("labels: job %v pod %v", job.Labels, job.Spec.Template.Labels)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["data"] != "/data" || mounts["tempdir"] != "/tmp" {
		t.Errorf("mounts: %v", mounts)
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Error("the log tail must be the fallback result")
	}
}

func TestBuildPrivileged(t *testing.T) {
	s := baseSpec()
	s.Privileged = true
	s.PrivilegedCaps = []corev1.Capability{"CHOWN", "FOWNER"}
	c := Build(s).Spec.Template.Spec.Containers[0]
	if *c.SecurityContext.RunAsUser != 0 || len(c.SecurityContext.Capabilities.Add) != 2 || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("privileged mover: %+v", c.SecurityContext)
	}
	if v, _ := env(c, EnvPrivileged); v != "1" {
		t.Errorf("%s = %q, want 1", EnvPrivileged, v)
	}
}

func TestBuildUserOptions(t *testing.T) {
	s := baseSpec()
	s.Paused = true
	s.Debug = true
	s.Data.ReadOnly = true
	s.NodeSelector = map[string]string{"kubernetes.io/hostname": "n1"}
	s.Config = &v1alpha1.MoverConfig{
		MoverSecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(1000)), FSGroup: ptr.To(int64(1000))},
		MoverPodLabels:       map[string]string{"team": "db", v1alpha1.CreatedByLabel: "someone-else"},
		MoverResources:       &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
		MoverAffinity:        &corev1.Affinity{PodAffinity: &corev1.PodAffinity{}},
		MoverVolumes: []v1alpha1.MoverVolume{{MountPath: "certs/ca", VolumeSource: v1alpha1.MoverVolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "ca"}}}},
	}
	job := Build(s)
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	if *job.Spec.Parallelism != 0 {
		t.Error("a paused mover Job must have parallelism 0")
	}
	if v, ok := env(c, EnvDebug); !ok || v != "1" {
		t.Error("debug env missing")
	}
	if *pod.SecurityContext.RunAsUser != 1000 || pod.SecurityContext.RunAsNonRoot != nil {
		t.Errorf("moverSecurityContext must replace the default: %+v", pod.SecurityContext)
	}
	if job.Spec.Template.Labels["team"] != "db" || job.Spec.Template.Labels[v1alpha1.CreatedByLabel] != "volsync" {
		t.Errorf("user labels must be added without overriding VolSync's: %v", job.Spec.Template.Labels)
	}
	if c.Resources.Limits.Memory().String() != "1Gi" || pod.Affinity == nil || pod.NodeSelector["kubernetes.io/hostname"] != "n1" {
		t.Errorf("resources/affinity/placement not applied: %+v %+v %v", c.Resources, pod.Affinity, pod.NodeSelector)
	}
	var found bool
	for _, m := range c.VolumeMounts {
		if m.Name == "u-certs-ca" && m.MountPath == "/mnt/certs/ca" && m.ReadOnly {
			found = true
		}
		if m.Name == "data" && !m.ReadOnly {
			t.Error("read-only data volume mounted read-write")
		}
	}
	if !found {
		t.Errorf("mover volume not mounted: %+v", c.VolumeMounts)
	}
	if Build(baseSpec()).Annotations[SpecHashAnnotation] == job.Annotations[SpecHashAnnotation] {
		t.Error("a different pod template must hash differently")
	}
}

func TestBuildBlockVolume(t *testing.T) {
	s := baseSpec()
	s.Data.PVC.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
	c := Build(s).Spec.Template.Spec.Containers[0]
	if len(c.VolumeDevices) != 1 || c.VolumeDevices[0].DevicePath != BlockDevicePath {
		t.Errorf("block volume must be a device: %+v", c.VolumeDevices)
	}
}

func TestRetryDelay(t *testing.T) {
	want := map[int]string{1: "1m0s", 2: "2m0s", 3: "4m0s", 5: "16m0s", 6: "30m0s", 20: "30m0s"}
	for n, w := range want {
		if got := RetryDelay(n).String(); got != w {
			t.Errorf("RetryDelay(%d) = %s, want %s", n, got, w)
		}
	}
}

func TestParseResult(t *testing.T) {
	r, raw := ParseResult(`{"outcome":"Successful","bytesSent":2048,"filesTransferred":3,"durationSeconds":1.5}`)
	if r == nil || raw != "" || r.BytesSent != 2048 {
		t.Fatalf("json result not parsed: %+v %q", r, raw)
	}
	if st := MoverStatus(true, r, raw); st.Result != v1alpha1.MoverResultSuccessful || st.Logs != "3 files transferred, 2.0 KiB sent in 1.5s" {
		t.Errorf("status: %+v", st)
	}
	r, raw = ParseResult("stunnel: connection refused\nrsync error: error in socket IO (code 10)\n")
	if r != nil || raw == "" {
		t.Fatalf("log tail not kept: %+v %q", r, raw)
	}
	if got := ErrorText(r, raw); got != "rsync error: error in socket IO (code 10)" {
		t.Errorf("ErrorText = %q", got)
	}
	failed, _ := ParseResult(`{"outcome":"Failed","error":"TLS handshake failed: wrong pre-shared key?"}`)
	if st := MoverStatus(false, failed, ""); st.Result != v1alpha1.MoverResultFailed || st.Logs != failed.Error {
		t.Errorf("failed status: %+v", st)
	}
	if r, raw := ParseResult(""); r != nil || raw != "" {
		t.Error("empty message")
	}
}
