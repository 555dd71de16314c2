package rsync

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	rsynccontract "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// The scenarios every Job-based mover passes (pkg/testutil/lifecycle), with the rsync
// mover's own checks of its Jobs.

// checkPod checks the mover pod's container, labels and key volume: the Secret keySecret
// mounted read-only at /keys with exactly keys, readable by the mover.
func checkPod(t *testing.T, job *batchv1.Job, role naming.Role, obj, mode, keySecret string, keys []string) corev1.Container {
	t.Helper()
	c := lifecycle.CheckMover(t, job, testImage, mode)
	labels := job.Spec.Template.Labels
	if labels["app.kubernetes.io/component"] != "rsync-mover" || labels["app.kubernetes.io/name"] != naming.AppName(role, obj) ||
		labels["app.kubernetes.io/part-of"] != "volsync" {
		t.Fatalf("mover pod labels: %v", labels)
	}
	var items []string
	for _, it := range lifecycle.SecretVolume(t, job, contract.KeysDir, keySecret).Items {
		if it.Path != it.Key {
			t.Errorf("key %s is mounted as %s", it.Key, it.Path)
		}
		items = append(items, it.Key)
	}
	if !slices.Equal(items, keys) {
		t.Fatalf("key volume items %v, want %v", items, keys)
	}
	for _, k := range keys {
		if a := lifecycle.KeyFileAccess(t, job.Spec.Template.Spec, containerName, contract.KeysDir, k); !a.CanRead() {
			t.Errorf("the mover (uid %d, groups %v) cannot read %s (mode %#o)", a.UID, a.Groups, k, a.Mode)
		}
	}
	return c
}

// expectedKeys are the key Secret the mover of obj mounts and the one obj publishes (none
// with the user's sshKeys).
func expectedKeys(obj client.Object) (mounted, published string) {
	role, user := naming.Destination, (*string)(nil)
	switch o := obj.(type) {
	case *v1alpha1.ReplicationSource:
		role, user = naming.Source, o.Spec.Rsync.SSHKeys
	case *v1alpha1.ReplicationDestination:
		user = o.Spec.Rsync.SSHKeys
	}
	if ptr.Deref(user, "") != "" {
		return *user, ""
	}
	return keySecretNames(role, obj.GetName()).own(role)
}

// checkSourceJob checks a source's push Job (environment from spec.rsync, its keys) and the
// key Secret it publishes for its destination (none with the user's sshKeys).
func checkSourceJob(t *testing.T, rs *v1alpha1.ReplicationSource, job *batchv1.Job) {
	t.Helper()
	spec := rs.Spec.Rsync
	mounted, published := expectedKeys(rs)
	c := checkPod(t, job, naming.Source, rs.Name, "source", mounted, []string{"source", "source.pub", "destination.pub"})
	env := lifecycle.EnvOf(c)
	want := map[string]string{
		contract.EnvDestinationAddress: ptr.Deref(spec.Address, ""),
		contract.EnvDestinationPort:    strconv.Itoa(int(ptr.Deref(spec.Port, 22))),
		rsynccontract.EnvSSHUser:       ptr.Deref(spec.SSHUser, "root"),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s=%q, want %q (env %v)", k, env[k], v, env)
		}
	}
	lifecycle.Eventually(t, "status.rsync.sshKeys "+published, func() error {
		lifecycle.Must(t, h.Get(lifecycle.Context(t), rs.Namespace, rs.Name, rs))
		var got string
		if rs.Status != nil && rs.Status.Rsync != nil {
			got = ptr.Deref(rs.Status.Rsync.SSHKeys, "")
		}
		if got != published {
			return fmt.Errorf("status.rsync.sshKeys %q, want %q", got, published)
		}
		return nil
	})
}

// checkDestinationJob checks a destination's sshd Job, its Service (none with spec.address)
// and what it publishes in status.rsync.
func checkDestinationJob(t *testing.T, rd *v1alpha1.ReplicationDestination, job *batchv1.Job) {
	t.Helper()
	spec := rd.Spec.Rsync
	mounted, published := expectedKeys(rd)
	c := checkPod(t, job, naming.Destination, rd.Name, "destination", mounted, []string{"destination", "destination.pub", "source.pub"})
	if env := lifecycle.EnvOf(c); env[contract.EnvListenPort] != "8022" {
		t.Errorf("env %s=%q, want 8022", contract.EnvListenPort, env[contract.EnvListenPort])
	}
	// What status.rsync shows besides sshKeys: nothing with the user's address; the ClusterIP
	// and port of the Service; a load balancer's port, and its address once it has one.
	var want v1alpha1.ReplicationDestinationRsyncStatus
	if ptr.Deref(spec.Address, "") != "" {
		h.Absent(t, rd.Namespace, h.JobName(naming.Destination, rd.Name), &corev1.Service{}, "spec.rsync.address is set")
	} else {
		svc := h.CheckService(t, rd, job)
		port := ptr.Deref(spec.Port, 22)
		if p := svc.Spec.Ports; len(p) != 1 || p[0].Name != "ssh" || p[0].Port != port || p[0].TargetPort.IntValue() != 8022 ||
			p[0].Protocol != corev1.ProtocolTCP {
			t.Fatalf("Service ports %+v, want ssh %d -> 8022", p, port)
		}
		if want := ptr.Deref(spec.ServiceType, corev1.ServiceTypeClusterIP); svc.Spec.Type != want {
			t.Fatalf("Service type %s, want %s", svc.Spec.Type, want)
		}
		want.Port = &port
		if svc.Spec.Type == corev1.ServiceTypeClusterIP {
			want.Address = &svc.Spec.ClusterIP
		}
	}
	if published != "" {
		want.SSHKeys = &published
	}
	lifecycle.Eventually(t, "status.rsync", func() error {
		lifecycle.Must(t, h.Get(lifecycle.Context(t), rd.Namespace, rd.Name, rd))
		if got := rsyncStatus(rd.Status.Rsync); got != rsyncStatus(&want) {
			return fmt.Errorf("status.rsync %s, want %s", got, rsyncStatus(&want))
		}
		return nil
	})
}

// TestScenarios: the shared scenarios, with the rsync mover's checks. A privileged mover runs
// as root with the reference's capabilities (sshd as root, chown, chroot, audit) and FSETID,
// so that setuid/setgid bits survive the chown of received files.
func TestScenarios(t *testing.T) {
	h.Scenarios(t, lifecycle.Checks{Source: checkSourceJob, Destination: checkDestinationJob,
		PrivilegedCaps: []corev1.Capability{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID", "SYS_CHROOT"}})
}

// rsyncStatus shows a destination's status.rsync.
func rsyncStatus(st *v1alpha1.ReplicationDestinationRsyncStatus) string {
	if st == nil {
		return "<none>"
	}
	show := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return strconv.Quote(*p)
	}
	port := "<nil>"
	if st.Port != nil {
		port = strconv.Itoa(int(*st.Port))
	}
	return fmt.Sprintf("{sshKeys %s address %s port %s}", show(st.SSHKeys), show(st.Address), port)
}
