package jobs

import (
	"errors"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
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
	if p := pod.SecurityContext.FSGroupChangePolicy; p != nil {
		t.Errorf("fsGroupChangePolicy %s without an fsGroup", *p)
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
		if m.Name == moverVolumeName("certs/ca") && m.MountPath == "/mnt/certs/ca" && m.ReadOnly {
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
	detailed, _ := ParseResult(`{"outcome":"Successful","bytesSent":1,"filesTransferred":1,"details":{"snapshotID":"5f1c","added":"2"}}`)
	if st := MoverStatus(true, detailed, ""); st.Logs != "1 files transferred, 1 B sent in 0s; added: 2; snapshotID: 5f1c" {
		t.Errorf("mover-specific details not shown: %q", st.Logs)
	}
	// The tool's own summary lines follow (the reference showed them; users look for them).
	summarized, _ := ParseResult(`{"outcome":"Successful","filesTransferred":1,"summary":"Transferred: 1 / 1, 100%\nRclone completed in 2s\n"}`)
	if st := MoverStatus(true, summarized, ""); st.Logs != "1 files transferred, 0 B sent in 0s\nTransferred: 1 / 1, 100%\nRclone completed in 2s" {
		t.Errorf("the mover's summary not shown: %q", st.Logs)
	}
}

// TestBuildWritableDataChangesGroupOnce: the default fsGroup of a destination comes with
// fsGroupChangePolicy OnRootMismatch, so the kubelet re-groups the volume once, not on every
// sync; a user's moverSecurityContext is taken as given.
func TestBuildWritableDataChangesGroupOnce(t *testing.T) {
	s := baseSpec()
	s.WritableData = true
	sc := Build(s).Spec.Template.Spec.SecurityContext
	if p := sc.FSGroupChangePolicy; sc.FSGroup == nil || p == nil || *p != corev1.FSGroupChangeOnRootMismatch {
		t.Errorf("fsGroup %v with fsGroupChangePolicy %v, want OnRootMismatch", sc.FSGroup, sc.FSGroupChangePolicy)
	}
	// A user's fsGroup on a volume VolSync writes gets the same policy unless the user chose one.
	s.Config = &v1alpha1.MoverConfig{MoverSecurityContext: &corev1.PodSecurityContext{FSGroup: ptr.To(int64(5678))}}
	if p := Build(s).Spec.Template.Spec.SecurityContext.FSGroupChangePolicy; p == nil || *p != corev1.FSGroupChangeOnRootMismatch {
		t.Errorf("user fsGroup on the destination: fsGroupChangePolicy %v, want OnRootMismatch", p)
	}
	s.Config.MoverSecurityContext.FSGroupChangePolicy = ptr.To(corev1.FSGroupChangeAlways)
	if p := Build(s).Spec.Template.Spec.SecurityContext.FSGroupChangePolicy; *p != corev1.FSGroupChangeAlways {
		t.Errorf("the user's fsGroupChangePolicy was overridden: %s", *p)
	}
	// On a source (a volume VolSync only reads) the user's context is taken as given.
	s.WritableData = false
	s.Config.MoverSecurityContext.FSGroupChangePolicy = nil
	if p := Build(s).Spec.Template.Spec.SecurityContext.FSGroupChangePolicy; p != nil {
		t.Errorf("the user's source moverSecurityContext was changed: fsGroupChangePolicy %s", *p)
	}
}

func TestMoverVolumeName(t *testing.T) {
	long := strings.Repeat("very-long-directory/", 10) + "leaf"
	paths := []string{
		"certs", "certs/ca", "certs-ca", "certs_ca", "my.certs", "Certs_A", "certs_a", "a/b", "a-b", "a_b",
		"-lead", "trail-", "..", "_", "ÄÖÜ", long, long + "2", strings.Repeat("x", 300),
	}
	seen := map[string]string{}
	for _, p := range paths {
		v, m := moverVolume(v1alpha1.MoverVolume{MountPath: p})
		name := v.Name
		if m.Name != name {
			t.Errorf("mountPath %q: volume %q mounted as %q", p, name, m.Name)
		}
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			t.Errorf("mountPath %q: volume name %q is not a DNS-1123 label: %v", p, name, errs)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("mountPaths %q and %q share the volume name %q", other, p, name)
		}
		seen[name] = p
		if again, _ := moverVolume(v1alpha1.MoverVolume{MountPath: p}); again.Name != name {
			t.Errorf("mountPath %q: name not stable: %q then %q", p, name, again.Name)
		}
	}
	for path, prefix := range map[string]string{"certs/ca": "u-certs-ca-", "my.certs": "u-my-certs-", "Certs_A": "u-certs-a-", "..": "u-"} {
		if v, _ := moverVolume(v1alpha1.MoverVolume{MountPath: path}); !strings.HasPrefix(v.Name, prefix) || len(v.Name) != len(prefix)+moverVolHashLen {
			t.Errorf("volume name of %q = %q, want %q and %d hex digits", path, v.Name, prefix, moverVolHashLen)
		}
	}
}

// TestHashIgnoresPlacement: where the application ran when the Job was created is not spec;
// the user's moverAffinity is.
func TestHashIgnoresPlacement(t *testing.T) {
	plain := Build(baseSpec()).Annotations[SpecHashAnnotation]
	placed := baseSpec()
	placed.NodeSelector = map[string]string{"kubernetes.io/hostname": "n1"}
	placed.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	job := Build(placed)
	if job.Annotations[SpecHashAnnotation] != plain {
		t.Error("placement changed the spec hash: a Job would be replaced when the application pod moves")
	}
	if job.Spec.Template.Spec.NodeSelector["kubernetes.io/hostname"] != "n1" || len(job.Spec.Template.Spec.Tolerations) != 1 {
		t.Errorf("placement not applied: %+v", job.Spec.Template.Spec)
	}
	affine := baseSpec()
	affine.Config = &v1alpha1.MoverConfig{MoverAffinity: &corev1.Affinity{PodAffinity: &corev1.PodAffinity{}}}
	if Build(affine).Annotations[SpecHashAnnotation] == plain {
		t.Error("a moverAffinity change must count as a spec change")
	}
}

func TestCheckVolumeMode(t *testing.T) {
	block := baseSpec()
	block.Data.PVC.Namespace = "app"
	block.Data.PVC.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
	err := CheckVolumeMode(block)
	if !errors.Is(err, ErrBlockUnsupported) ||
		!strings.HasPrefix(err.Error(), "PVC app/data has volumeMode Block; the rsync-tls mover supports only Filesystem volumes") {
		t.Errorf("CheckVolumeMode(Block) = %v", err)
	}
	block.BlockSupported = true
	if err := CheckVolumeMode(block); err != nil {
		t.Errorf("a mover with block support refused a Block volume: %v", err)
	}
	fs := baseSpec()
	fs.Data.PVC.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
	noData := baseSpec()
	noData.Data = nil
	for _, s := range []Spec{baseSpec(), fs, noData} {
		if err := CheckVolumeMode(s); err != nil {
			t.Errorf("CheckVolumeMode = %v for a Filesystem volume", err)
		}
	}
}

func TestProxyEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []corev1.EnvVar
	}{
		{"none set", nil, nil},
		{"upper case", map[string]string{"HTTPS_PROXY": "http://p:3128", "NO_PROXY": ".svc"}, []corev1.EnvVar{
			{Name: "HTTPS_PROXY", Value: "http://p:3128"}, {Name: "https_proxy", Value: "http://p:3128"},
			{Name: "NO_PROXY", Value: ".svc"}, {Name: "no_proxy", Value: ".svc"}}},
		{"lower case only", map[string]string{"http_proxy": "http://p:8080"}, []corev1.EnvVar{
			{Name: "HTTP_PROXY", Value: "http://p:8080"}, {Name: "http_proxy", Value: "http://p:8080"}}},
		{"upper wins", map[string]string{"HTTP_PROXY": "http://up", "http_proxy": "http://low"}, []corev1.EnvVar{
			{Name: "HTTP_PROXY", Value: "http://up"}, {Name: "http_proxy", Value: "http://up"}}},
	} {
		got := ProxyEnv(func(k string) string { return tc.env[k] })
		if !equality.Semantic.DeepEqual(got, tc.want) {
			t.Errorf("%s: ProxyEnv = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBuildProxyEnv(t *testing.T) {
	s := baseSpec()
	s.Proxy = ProxyEnv(func(k string) string { return map[string]string{"HTTPS_PROXY": "http://p:3128"}[k] })
	c := Build(s).Spec.Template.Spec.Containers[0]
	for _, name := range []string{"HTTPS_PROXY", "https_proxy"} {
		if v, ok := env(c, name); !ok || v != "http://p:3128" {
			t.Errorf("%s = %q (set: %v), want the proxy", name, v, ok)
		}
	}
	if _, ok := env(Build(baseSpec()).Spec.Template.Spec.Containers[0], "HTTPS_PROXY"); ok {
		t.Error("a mover without Spec.Proxy got the proxy environment")
	}
}

// TestPodTemplateIsTheJobsPod: the pod template is built on its own (a Deployment-based mover
// reuses it) and is exactly the Job's pod but for the restart policy.
func TestPodTemplateIsTheJobsPod(t *testing.T) {
	owner := &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Name: "o", Namespace: "ns", UID: "u"}}
	s := Spec{Name: "volsync-x-src-o", Owner: owner, Container: "x", Image: "img", Args: []string{"run"},
		Labels: map[string]string{"app.kubernetes.io/name": "src-o"},
		Config: &v1alpha1.MoverConfig{MoverPodLabels: map[string]string{"team": "a"}}}
	pod := PodTemplate(s)
	if pod.Spec.RestartPolicy != "" {
		t.Fatalf("the template must leave the restart policy to its user, got %q", pod.Spec.RestartPolicy)
	}
	job := Build(s)
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("a Job's pod never restarts, got %q", job.Spec.Template.Spec.RestartPolicy)
	}
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	if !equality.Semantic.DeepEqual(pod, job.Spec.Template) {
		t.Fatalf("the Job's pod differs from the template:\n%+v\n%+v", pod, job.Spec.Template)
	}
	if pod.Labels["team"] != "a" || pod.Spec.SecurityContext == nil || len(pod.Spec.Containers) != 1 {
		t.Fatalf("template incomplete: %+v", pod)
	}
}

// TestBuildTuning: a mover's host name, fail-fast exit codes (a pod failure policy on its
// container) and resume key; none of them by default.
func TestBuildTuning(t *testing.T) {
	job := Build(baseSpec())
	if job.Spec.PodFailurePolicy != nil || job.Spec.Template.Spec.Hostname != "" || job.Annotations[ResumeKeyAnnotation] != "" {
		t.Fatalf("tuning without asking: %+v", job)
	}
	s := baseSpec()
	s.Tuning = Tuning{BackoffLimit: ptr.To[int32](8), Hostname: "volsync-src-1", FailFast: []int32{4, 3}, GiveUpAfter: 3, ResumeKey: "7/42"}
	job = Build(s)
	p := job.Spec.PodFailurePolicy
	if p == nil || len(p.Rules) != 1 || p.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob ||
		*p.Rules[0].OnExitCodes.ContainerName != s.Container || p.Rules[0].OnExitCodes.Operator != batchv1.PodFailurePolicyOnExitCodesOpIn ||
		!slices.Equal(p.Rules[0].OnExitCodes.Values, []int32{3, 4}) {
		t.Errorf("pod failure policy %+v", p)
	}
	if job.Spec.Template.Spec.Hostname != "volsync-src-1" || *job.Spec.BackoffLimit != 8 || job.Annotations[ResumeKeyAnnotation] != "7/42" {
		t.Errorf("job %+v", job)
	}
}
