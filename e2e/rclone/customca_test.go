//go:build e2e

package rclone

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// caKey is the key that holds the CA in the user's Secret and ConfigMap: not ca.crt, so the
// controller must map the key the object names to the file the mover reads.
const caKey = "server-ca.pem"

// caSources creates, in ns, the S3 server's CA as a user provides it: in the Secret tls-secret
// and in the ConfigMap tls-configmap, under caKey; and returns the customCA of each.
func caSources(t *testing.T, ns string) (fromSecret, fromConfigMap v1alpha1.CustomCASpec) {
	t.Helper()
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls-secret", Namespace: ns}, Data: map[string][]byte{caKey: secure.CA}})
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tls-configmap", Namespace: ns}, Data: map[string]string{caKey: string(secure.CA)}})
	return v1alpha1.CustomCASpec{SecretName: "tls-secret", Key: caKey}, v1alpha1.CustomCASpec{ConfigMapName: "tls-configmap", Key: caKey}
}

// customCA: against the HTTPS server, whose certificate a private CA signed, both sides trust
// the CA from customCA: first the source from a Secret and the destination from a ConfigMap,
// then (after changes) the other way round; the restored trees match the source's.
func customCA(t *testing.T) {
	srcNS := namespace(t, "ca-src", false, secure)
	dstNS := namespace(t, "ca-dst", false, secure)
	want := fill(t, srcNS, "SMALL_FILES=50 BIG_MB=1 ")
	secure.CreateBucket(t, "custom-ca")
	const path = "custom-ca/data"
	srcSecret, srcConfigMap := caSources(t, srcNS)
	dstSecret, dstConfigMap := caSources(t, dstNS)

	rs := src{newSource(srcNS, "src", "data", path, v1alpha1.CopyMethodSnapshot, "s1")}
	rs.Spec.Rclone.CustomCA = srcSecret
	create(t, rs.ReplicationSource)
	rd := dst{newDestination(dstNS, "dst", path, "d1")}
	rd.Spec.Rclone.CustomCA = dstConfigMap
	waitSynced(t, rs, "s1")
	create(t, rd.ReplicationDestination)
	waitSynced(t, rd, "d1")
	expectRestored(t, rd.ReplicationDestination, "restore-1", want, "customCA: source Secret, destination ConfigMap")

	want = change(t, srcNS)
	scenario.Update(t, rs.ReplicationSource, "source customCA from the ConfigMap", func(o *v1alpha1.ReplicationSource) {
		o.Spec.Rclone.CustomCA = srcConfigMap
		o.Spec.Trigger.Manual = "s2"
	})
	waitSynced(t, rs, "s2")
	scenario.Update(t, rd.ReplicationDestination, "destination customCA from the Secret", func(o *v1alpha1.ReplicationDestination) {
		o.Spec.Rclone.CustomCA = dstSecret
		o.Spec.Trigger.Manual = "d2"
	})
	waitSynced(t, rd, "d2")
	expectRestored(t, rd.ReplicationDestination, "restore-2", want, "customCA: source ConfigMap, destination Secret")
}

// tlsWithoutCustomCA: without customCA, neither side trusts the HTTPS server's certificate;
// each reports an error that says so (a destination must not mistake it for an empty path).
func tlsWithoutCustomCA(t *testing.T) {
	srcNS := namespace(t, "noca-src", false, secure)
	dstNS := namespace(t, "noca-dst", false, secure)
	create(t, volume.NewPVC(srcNS, "data", nil))
	volume.Run(t, srcNS, "data", "SMALL_FILES=5 BIG_MB=1 "+volume.WriteTree)
	secure.CreateBucket(t, "no-ca")
	const path = "no-ca/data"
	rs := src{newSource(srcNS, "src", "data", path, v1alpha1.CopyMethodClone, "s1")}
	create(t, rs.ReplicationSource)
	rd := dst{newDestination(dstNS, "dst", path, "d1")}
	create(t, rd.ReplicationDestination)
	for _, s := range []side{rs, rd} {
		waitFailed(t, s, func(c *metav1.Condition) error {
			if !strings.Contains(c.Message, "certificate") {
				return fmt.Errorf("the error does not mention the certificate: %s", c.Message)
			}
			if !strings.Contains(c.Message, "customCA") {
				return errors.New("the error does not point at customCA: " + c.Message)
			}
			return nil
		})
	}
	if rd.Status.LatestImage != nil || rd.Status.LastManualSync != "" {
		t.Fatalf("a destination that could not reach the server recorded a sync: %+v", rd.Status)
	}
}
