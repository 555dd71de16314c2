//go:build e2e

package rclone

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/s3"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

// What every case's rclone configuration is called: the Secret in each namespace and the
// section of rclone.conf in it.
const (
	configSecret = "rclone-secret"
	section      = "s3"
)

// nsPrefix starts the names of the suite's namespaces, told apart from other suites'.
const nsPrefix = "e2e-rclone-"

// namespace creates a namespace for one side of a case, enforcing the restricted Pod Security
// Standard (unprivileged movers, the default) or, with privileged, allowing privileged
// movers; and gives it the rclone configuration Secret for srv.
func namespace(t *testing.T, name string, privileged bool, srv *s3.Server) string {
	t.Helper()
	newNamespace := cluster.Namespace
	if privileged {
		newNamespace = cluster.PrivilegedNamespace
	}
	ns := newNamespace(t, nsPrefix+name)
	srv.RcloneSecret(t, ns, configSecret, section)
	return ns
}

// rcloneSpec is the rclone block both sides share: the Secret and section above and the
// remote path bucket/dir.
func rcloneSpec(path string) v1alpha1.RcloneSpec {
	return v1alpha1.RcloneSpec{RcloneConfig: ptr.To(configSecret), RcloneConfigSection: ptr.To(section), RcloneDestPath: ptr.To(path)}
}

// newSource returns a manually triggered ReplicationSource that pushes the PVC pvc to path.
func newSource(ns, name, pvc, path string, method v1alpha1.CopyMethodType, manual string) *v1alpha1.ReplicationSource {
	return &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: pvc, Trigger: &v1alpha1.TriggerSpec{Manual: manual},
			Rclone: &v1alpha1.ReplicationSourceRcloneSpec{
				ReplicationSourceVolumeOptions: v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: method},
				RcloneSpec:                     rcloneSpec(path),
			}},
	}
}

// newDestination returns a manually triggered ReplicationDestination that pulls path into a
// volume it provisions (volume.Size, ReadWriteOnce) and keeps as a VolumeSnapshot.
func newDestination(ns, name, path, manual string) *v1alpha1.ReplicationDestination {
	size := resource.MustParse(volume.Size)
	return &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationDestinationSpec{Trigger: &v1alpha1.TriggerSpec{Manual: manual},
			Rclone: &v1alpha1.ReplicationDestinationRcloneSpec{
				ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{
					CopyMethod: v1alpha1.CopyMethodSnapshot, Capacity: &size,
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				},
				RcloneSpec: rcloneSpec(path),
			}},
	}
}

// create creates obj, failing the test on an error.
func create(t *testing.T, obj client.Object) {
	t.Helper()
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), obj))
}
