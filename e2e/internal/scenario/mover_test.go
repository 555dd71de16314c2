//go:build e2e

package scenario

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// The Mover writes and reads the typed fields users know by their YAML names.
func TestMoverFields(t *testing.T) {
	tls := Mover{Method: "rsync-tls", Field: "rsyncTLS", KeysField: "keySecret"}
	ssh := Mover{Method: "rsync", Field: "rsync", KeysField: "sshKeys"}
	size := resource.MustParse("1Gi")

	rd := &v1alpha1.ReplicationDestination{}
	ssh.SetDestination(rd, v1alpha1.ReplicationDestinationVolumeOptions{CopyMethod: v1alpha1.CopyMethodSnapshot, Capacity: &size})
	if rd.Spec.Rsync == nil || rd.Spec.Rsync.CopyMethod != v1alpha1.CopyMethodSnapshot || rd.Spec.Rsync.Capacity.Cmp(size) != 0 || rd.Spec.RsyncTLS != nil {
		t.Fatalf("rsync destination spec: %+v", rd.Spec)
	}
	if _, ok := ssh.Published(rd); ok {
		t.Fatal("published without a status")
	}
	rd.Status = &v1alpha1.ReplicationDestinationStatus{Rsync: &v1alpha1.ReplicationDestinationRsyncStatus{
		Address: ptr.To("10.0.0.1"), Port: ptr.To(int32(2222)), SSHKeys: ptr.To("keys")}}
	ep, ok := ssh.Published(rd)
	if !ok || ep.Address != "10.0.0.1" || ep.Port == nil || *ep.Port != 2222 || ep.KeySecret != "keys" {
		t.Fatalf("rsync endpoint %+v (%v)", ep, ok)
	}
	if _, ok := tls.Published(rd); ok {
		t.Fatal("rsync-TLS reads the rsync status")
	}

	rs := &v1alpha1.ReplicationSource{Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: "data"}}
	tls.SetSource(rs, v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodClone})
	tls.Connect(rs, Endpoint{Address: "svc"}, "copied")
	tls.SetCopyMethod(rs, v1alpha1.CopyMethodDirect)
	s := rs.Spec.RsyncTLS
	if s == nil || ptr.Deref(s.Address, "") != "svc" || s.Port != nil || ptr.Deref(s.KeySecret, "") != "copied" ||
		s.CopyMethod != v1alpha1.CopyMethodDirect || rs.Spec.SourcePVC != "data" || rs.Spec.Rsync != nil {
		t.Fatalf("rsync-TLS source spec: %+v", rs.Spec)
	}
	ssh.SetSource(rs, v1alpha1.ReplicationSourceVolumeOptions{})
	ssh.Connect(rs, ep, "k")
	if r := rs.Spec.Rsync; r == nil || ptr.Deref(r.Port, 0) != 2222 || ptr.Deref(r.SSHKeys, "") != "k" {
		t.Fatalf("rsync source spec: %+v", rs.Spec.Rsync)
	}
}

func TestJobName(t *testing.T) {
	tls := Mover{Method: "rsync-tls"}
	// Expected values from the reference's scheme (CRC-32 computed independently).
	if got := tls.JobName(Source, "db"); got != "volsync-rsync-tls-src-db" {
		t.Errorf("short name: %s", got)
	}
	if got := tls.JobName(Destination, strings.Repeat("a", 60)); got != "volsync-rsync-tls-dst-1f98bd29" {
		t.Errorf("long name: %s", got)
	}
}
