//go:build e2e

package rsync

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
)

// generatedKeys: a destination without sshKeys generates two ssh key pairs and splits them
// into the reference's three Secrets (main: both pairs; src: what the source needs, published
// in status.rsync.sshKeys; dest: what the destination's sshd needs), all owned by the
// destination; its Service exposes the published port; and deleting the destination deletes
// the three Secrets and the Service.
func generatedKeys(t *testing.T) {
	_, dstNS := scenario.Namespaces(t, mover, "keys", false)
	const name = "dst"
	rd := scenario.NewDestination(mover, dstNS, name, v1alpha1.CopyMethodSnapshot, &v1alpha1.TriggerSpec{Manual: "g1"})
	ctx := cluster.Ctx(t, 2*time.Minute)
	cluster.Must(t, cluster.C.Create(ctx, rd))
	ep := scenario.WaitPublished(t, mover, rd)
	if ep.KeySecret != srcKeysPrefix+name {
		t.Fatalf("status.rsync.sshKeys %q, want %q", ep.KeySecret, srcKeysPrefix+name)
	}

	read := func(prefix string, keys ...string) map[string][]byte {
		t.Helper()
		s := &corev1.Secret{}
		cluster.Must(t, cluster.C.Get(ctx, client.ObjectKey{Namespace: dstNS, Name: prefix + name}, s))
		if !metav1.IsControlledBy(s, rd) {
			t.Errorf("Secret %s is not controlled by its destination: %+v", s.Name, s.OwnerReferences)
		}
		if got := slices.Sorted(maps.Keys(s.Data)); !slices.Equal(got, slices.Sorted(slices.Values(keys))) {
			t.Errorf("Secret %s holds %v, want %v", s.Name, got, keys)
		}
		return s.Data
	}
	main := read(mainKeysPrefix, source, sourcePub, destination, destinationPub)
	src := read(srcKeysPrefix, source, sourcePub, destinationPub)
	dest := read(destKeysPrefix, destination, destinationPub, sourcePub)

	for _, k := range []string{source, destination} {
		if !bytes.Contains(main[k], []byte("PRIVATE KEY")) {
			t.Errorf("%s is not a private key: %.40q", k, main[k])
		}
		if !strings.HasPrefix(string(main[k+".pub"]), "ssh-") {
			t.Errorf("%s.pub is not an authorized_keys line: %.40q", k, main[k+".pub"])
		}
	}
	if bytes.Equal(main[sourcePub], main[destinationPub]) {
		t.Error("the source and the destination share one key pair")
	}
	// The split Secrets hold copies of the main Secret's keys.
	for _, c := range []struct {
		secret string
		data   map[string][]byte
	}{{srcKeysPrefix, src}, {destKeysPrefix, dest}} {
		for k, v := range c.data {
			if !bytes.Equal(v, main[k]) {
				t.Errorf("%s%s[%s] differs from %s%s[%s]", c.secret, name, k, mainKeysPrefix, name, k)
			}
		}
	}

	svc := &corev1.Service{}
	cluster.Must(t, cluster.C.Get(ctx, client.ObjectKey{Namespace: dstNS, Name: mover.JobName(scenario.Destination, name)}, svc))
	port := int32(22)
	if ep.Port != nil {
		port = *ep.Port
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != port {
		t.Errorf("Service %s ports %+v, want one port %d", svc.Name, svc.Spec.Ports, port)
	}

	cluster.Must(t, cluster.C.Delete(ctx, rd))
	cluster.WaitGone(t, 3*time.Minute, svc)
	for _, n := range mover.GeneratedSecrets(name) {
		cluster.WaitGone(t, 3*time.Minute, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: dstNS, Name: n}})
	}
}
