package options

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func TestCopyMethods(t *testing.T) {
	tests := []struct {
		in      string
		src     v1alpha1.CopyMethodType
		dst     v1alpha1.CopyMethodType
		dstHint string
	}{
		{in: "Clone", src: v1alpha1.CopyMethodClone, dstHint: "cannot use Clone"},
		{in: "clone", src: v1alpha1.CopyMethodClone, dstHint: "cannot use Clone"},
		{in: "SNAPSHOT", src: v1alpha1.CopyMethodSnapshot, dst: v1alpha1.CopyMethodSnapshot},
		{in: "direct", src: v1alpha1.CopyMethodDirect, dst: v1alpha1.CopyMethodDirect},
		{in: "None", src: v1alpha1.CopyMethodNone, dst: v1alpha1.CopyMethodNone},
		{in: "copy", dstHint: "Direct, None, Snapshot"},
		{in: "", dstHint: "Direct, None, Snapshot"},
	}
	for _, tc := range tests {
		src, err := SourceCopyMethod(tc.in)
		if tc.src == "" {
			if !errors.Is(err, ErrCopyMethod) || !strings.Contains(err.Error(), "Clone") {
				t.Errorf("SourceCopyMethod(%q) = %q, %v; want ErrCopyMethod listing the methods", tc.in, src, err)
			}
		} else if err != nil || src != tc.src {
			t.Errorf("SourceCopyMethod(%q) = %q, %v; want %q", tc.in, src, err, tc.src)
		}
		dst, err := DestinationCopyMethod(tc.in)
		if tc.dst == "" {
			if !errors.Is(err, ErrCopyMethod) || !strings.Contains(err.Error(), tc.dstHint) {
				t.Errorf("DestinationCopyMethod(%q) = %q, %v; want ErrCopyMethod containing %q", tc.in, dst, err, tc.dstHint)
			}
		} else if err != nil || dst != tc.dst {
			t.Errorf("DestinationCopyMethod(%q) = %q, %v; want %q", tc.in, dst, err, tc.dst)
		}
	}
}

func TestAccessModes(t *testing.T) {
	got, err := AccessModes([]string{"ReadWriteOnce", "ReadWriteOncePod"})
	if err != nil || len(got) != 2 || got[0] != corev1.ReadWriteOnce || got[1] != corev1.ReadWriteOncePod {
		t.Errorf("AccessModes = %v, %v", got, err)
	}
	if got, err := AccessModes(nil); err != nil || got != nil {
		t.Errorf("AccessModes(nil) = %v, %v; want nil", got, err)
	}
	for _, bad := range []string{"RWO", "readwriteonce", ""} {
		if _, err := AccessModes([]string{"ReadWriteMany", bad}); !errors.Is(err, ErrAccessMode) {
			t.Errorf("AccessModes(%q): %v, want ErrAccessMode", bad, err)
		}
	}
}

func TestServiceType(t *testing.T) {
	for _, ok := range []string{"ClusterIP", "LoadBalancer"} {
		if got, err := ServiceType(ok); err != nil || string(got) != ok {
			t.Errorf("ServiceType(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"NodePort", "clusterip", ""} {
		if _, err := ServiceType(bad); !errors.Is(err, ErrServiceType) {
			t.Errorf("ServiceType(%q): %v, want ErrServiceType", bad, err)
		}
	}
}

func TestCapacity(t *testing.T) {
	if q, err := Capacity("2Gi"); err != nil || q.String() != "2Gi" {
		t.Errorf("Capacity(2Gi) = %v, %v", q, err)
	}
	if q, err := Capacity(""); err != nil || q != nil {
		t.Errorf("Capacity(\"\") = %v, %v; want nil", q, err)
	}
	for _, bad := range []string{"2 GB", "lots", "0", "-1Gi"} {
		if _, err := Capacity(bad); !errors.Is(err, ErrCapacity) {
			t.Errorf("Capacity(%q): %v, want ErrCapacity", bad, err)
		}
	}
}

func TestCronSpec(t *testing.T) {
	for _, ok := range []string{"*/5 * * * *", "0 3 * * mon-fri", "@hourly", "30-59,0-10 * * * *"} {
		if _, err := CronSpec(ok); err != nil {
			t.Errorf("CronSpec(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "* * * *", "0 0 * * * *", "61 * * * *", "30-10 * * * *", "0 0 30 2 *", "@hourlyXYZ", "@every 5m", "nonsense"} {
		if _, err := CronSpec(bad); !errors.Is(err, ErrCronSpec) {
			t.Errorf("CronSpec(%q): %v, want ErrCronSpec", bad, err)
		}
	}
}
