package rclone

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	rclonecontract "github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// TestBadConfiguration: each problem with the configuration is an Error condition (and
// event) that names the cause and the fix, never a value of the Secret, and nothing is created
// until it is fixed; fixing it starts the synchronization.
func TestBadConfiguration(t *testing.T) {
	cases := []struct {
		name   string
		secret map[string]string // the Secret "cfg" (nil: none)
		spec   func(*v1alpha1.RcloneSpec)
		objs   []corev1.Secret
		maps   []corev1.ConfigMap
		want   string
		fix    func(t *testing.T, ns string)
	}{
		{name: "missing Secret", want: "Secret cfg not found (rcloneConfig); to fix: create Secret cfg in namespace",
			fix: func(t *testing.T, ns string) { createSecret(t, ns, "cfg", testConfig) }},
		{name: "no rclone.conf", secret: map[string]string{"RCLONE_TRANSFERS": "2", "config": "[bucket]\ntype = s3\nsecret_access_key = VERYSECRETVALUE\n"},
			want: "missing key rclone.conf"},
		{name: "unknown section", secret: map[string]string{"rclone.conf": "[a]\ntype = s3\nsecret_access_key = VERYSECRETVALUE\n[b]\ntype = local\n"},
			want: "rclone.conf has no section [bucket] (rcloneConfigSection); it has sections [a], [b]"},
		{name: "customCA Secret missing", secret: testConfig,
			spec: func(s *v1alpha1.RcloneSpec) { s.CustomCA = v1alpha1.CustomCASpec{SecretName: "ca", Key: "ca.crt"} },
			want: "Secret ca (customCA) not found",
			fix:  func(t *testing.T, ns string) { createSecret(t, ns, "ca", map[string]string{"ca.crt": testCA}) }},
		{name: "customCA Secret without the key", secret: testConfig,
			spec: func(s *v1alpha1.RcloneSpec) { s.CustomCA = v1alpha1.CustomCASpec{SecretName: "ca", Key: "ca.crt"} },
			objs: []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "ca"}, StringData: map[string]string{"tls.crt": testCA}}},
			want: `Secret ca (customCA) has no key "ca.crt"; to fix: add the CA bundle (PEM) under key "ca.crt" of Secret ca`},
		{name: "customCA ConfigMap without the key", secret: testConfig,
			spec: func(s *v1alpha1.RcloneSpec) { s.CustomCA = v1alpha1.CustomCASpec{ConfigMapName: "ca", Key: "ca.crt"} },
			maps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "ca"}, Data: map[string]string{"other": testCA}}},
			want: `ConfigMap ca (customCA) has no key "ca.crt"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := lifecycle.Context(t)
			ns := h.Namespace(t, nil)
			if tc.secret != nil {
				createSecret(t, ns, "cfg", tc.secret)
			}
			for _, s := range tc.objs {
				s.Namespace = ns
				lifecycle.Must(t, h.Client.Create(ctx, &s))
			}
			for _, c := range tc.maps {
				c.Namespace = ns
				lifecycle.Must(t, h.Client.Create(ctx, &c))
			}
			h.SourcePVC(t, ns, "data")
			rs := h.NewSource(ns, "src", "data", v1alpha1.CopyMethodSnapshot, nil)
			rs.Spec.Rclone.RcloneConfig = ptr.To("cfg")
			if tc.spec != nil {
				tc.spec(&rs.Spec.Rclone.RcloneSpec)
			}
			h.Create(t, rs)
			h.WaitError(t, rs, tc.want)
			c := lifecycle.Synchronizing(lifecycle.Common(rs))
			if strings.Contains(c.Message, "SECRETVALUE") {
				t.Fatalf("a secret value is in the condition: %s", c.Message)
			}
			for _, notes := range h.EventsFor(t, ns, rs.Name) {
				for _, n := range notes {
					if strings.Contains(n, "SECRETVALUE") {
						t.Fatalf("a secret value is in an event: %s", n)
					}
				}
			}
			h.NoneCreated(t, ns)
			if tc.fix == nil {
				return
			}
			// Fixed: the next attempt (the object changed) gets past the check.
			tc.fix(t, ns)
			h.Poke(t, rs)
			lifecycle.Eventually(t, "the synchronization under way", func() error {
				lifecycle.Must(t, h.Get(ctx, ns, rs.Name, rs))
				if c := lifecycle.Synchronizing(lifecycle.Common(rs)); c == nil || c.Reason != v1alpha1.SynchronizingReasonSync {
					return fmt.Errorf("condition %+v", c)
				}
				return nil
			})
		})
	}
}

// TestCustomCA: a customCA from a Secret or a ConfigMap is mounted (its key as ca.crt,
// readable by the mover) and named by CUSTOM_CA, on both sides.
func TestCustomCA(t *testing.T) {
	for _, from := range []string{"Secret", "ConfigMap"} {
		t.Run(from, func(t *testing.T) {
			ctx := lifecycle.Context(t)
			ns := h.Namespace(t, nil)
			ca := v1alpha1.CustomCASpec{Key: "bundle.pem"}
			if from == "Secret" {
				createSecret(t, ns, "ca", map[string]string{"bundle.pem": testCA})
				ca.SecretName = "ca"
			} else {
				lifecycle.Must(t, h.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ca", Namespace: ns},
					Data: map[string]string{"bundle.pem": testCA}}))
				ca.ConfigMapName = "ca"
			}
			h.SourcePVC(t, ns, "data")
			rs := h.NewSource(ns, "src", "data", v1alpha1.CopyMethodDirect, nil)
			rs.Spec.Rclone.CustomCA = ca
			h.Create(t, rs)
			rd := h.NewDestination(ns, "dst", "one")
			rd.Spec.Rclone.CustomCA = ca
			h.Create(t, rd)
			for _, name := range []string{h.JobName(naming.Source, "src"), h.JobName(naming.Destination, "dst")} {
				job := h.WaitJob(t, ns, name)
				env := lifecycle.EnvOf(lifecycle.Container(t, job))
				if env[rclonecontract.EnvCustomCA] != "/customCA/ca.crt" {
					t.Errorf("%s: CUSTOM_CA=%q", name, env[rclonecontract.EnvCustomCA])
				}
				v, m := lifecycle.Volume(t, job, rclonecontract.CustomCADir)
				var items []corev1.KeyToPath
				switch {
				case from == "Secret" && v.Secret != nil && v.Secret.SecretName == "ca":
					items = v.Secret.Items
				case from == "ConfigMap" && v.ConfigMap != nil && v.ConfigMap.Name == "ca":
					items = v.ConfigMap.Items
				default:
					t.Fatalf("%s: CA volume %+v", name, v.VolumeSource)
				}
				if len(items) != 1 || items[0].Key != "bundle.pem" || items[0].Path != "ca.crt" || !m.ReadOnly {
					t.Errorf("%s: CA items %+v, mount %+v", name, items, m)
				}
				if a := lifecycle.KeyFileAccess(t, job.Spec.Template.Spec, "rclone", rclonecontract.CustomCADir, "ca.crt"); !a.CanRead() {
					t.Errorf("%s: the mover cannot read ca.crt (mode %#o)", name, a.Mode)
				}
			}
		})
	}
}

// TestRequiredFieldsRefused: the API refuses an rclone block without its configuration
// Secret, section or path (CRD validation), with a message naming the field.
func TestRequiredFieldsRefused(t *testing.T) {
	ns := h.Namespace(t, nil)
	for field, unset := range map[string]func(*v1alpha1.RcloneSpec){
		"rcloneDestPath":      func(s *v1alpha1.RcloneSpec) { s.RcloneDestPath = ptr.To("") },
		"rcloneConfigSection": func(s *v1alpha1.RcloneSpec) { s.RcloneConfigSection = nil },
		"rcloneConfig":        func(s *v1alpha1.RcloneSpec) { s.RcloneConfig = ptr.To("") },
	} {
		rs := h.NewSource(ns, "src", "data", v1alpha1.CopyMethodDirect, nil)
		unset(&rs.Spec.Rclone.RcloneSpec)
		rd := h.NewDestination(ns, "dst", "one")
		unset(&rd.Spec.Rclone.RcloneSpec)
		for _, obj := range []interface {
			GetName() string
		}{rs, rd} {
			var err error
			switch o := obj.(type) {
			case *v1alpha1.ReplicationSource:
				err = h.Client.Create(lifecycle.Context(t), o)
			case *v1alpha1.ReplicationDestination:
				err = h.Client.Create(lifecycle.Context(t), o)
			}
			if err == nil || !strings.Contains(err.Error(), field) {
				t.Errorf("%T without %s: %v", obj, field, err)
			}
		}
	}
}

func createSecret(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	lifecycle.Must(t, h.Client.Create(lifecycle.Context(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}))
}

// testCA is a CA bundle's form (the controller does not parse it; the mover's tools do).
const testCA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
