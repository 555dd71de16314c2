//go:build e2e

package restic

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
	"github.com/volsync-go/volsync/e2e/internal/scenario"
	"github.com/volsync-go/volsync/e2e/internal/volume"
)

const (
	// nsPrefix starts the names of the suite's namespaces, told apart from other suites'.
	nsPrefix = "e2e-restic-"
	// repoSecret is the repository Secret (spec.restic.repository) of every case.
	repoSecret = "restic-config"
	// password is every repository's RESTIC_PASSWORD.
	password = "e2e-restic-password"
)

// namespace creates a namespace for one side of a case, enforcing the restricted Pod Security
// Standard (unprivileged movers, the default) or, with privileged, allowing privileged movers.
func namespace(t *testing.T, name string, privileged bool) string {
	t.Helper()
	if privileged {
		return cluster.PrivilegedNamespace(t, nsPrefix+name)
	}
	return cluster.Namespace(t, nsPrefix+name)
}

// s3Repository creates the repository Secret in ns for path ("bucket/dir") on srv.
func s3Repository(t *testing.T, ns string, srv *s3.Server, path string) {
	t.Helper()
	srv.ResticSecret(t, ns, repoSecret, path, password)
}

// s3Case creates what a case replicating through srv starts with: its source and destination
// namespaces (e2e-restic-<name>-{src,dst}-<random>), the bucket name, and in each namespace the
// repository Secret for the path name/data.
func s3Case(t *testing.T, name string, srv *s3.Server, privileged bool) (srcNS, dstNS string) {
	t.Helper()
	srcNS = namespace(t, name+"-src", privileged)
	dstNS = namespace(t, name+"-dst", privileged)
	srv.CreateBucket(t, name)
	s3Repository(t, srcNS, srv, name+"/data")
	s3Repository(t, dstNS, srv, name+"/data")
	return srcNS, dstNS
}

func manual(value string) *v1alpha1.TriggerSpec { return &v1alpha1.TriggerSpec{Manual: value} }

// newSource returns a ReplicationSource that backs the PVC pvc up to the repository of
// repoSecret, with the trigger trig (nil: it syncs continuously).
func newSource(ns, name, pvc string, method v1alpha1.CopyMethodType, trig *v1alpha1.TriggerSpec) *v1alpha1.ReplicationSource {
	return &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationSourceSpec{SourcePVC: pvc, Trigger: trig,
			Restic: &v1alpha1.ReplicationSourceResticSpec{
				ReplicationSourceVolumeOptions: v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: method},
				Repository:                     repoSecret,
			}},
	}
}

// newDestination returns a manually triggered ReplicationDestination that restores the
// repository of repoSecret into a volume it provisions (volume.Size, ReadWriteOnce) and keeps
// as a VolumeSnapshot.
func newDestination(ns, name, manualValue string) *v1alpha1.ReplicationDestination {
	size := resource.MustParse(volume.Size)
	return &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.ReplicationDestinationSpec{Trigger: manual(manualValue),
			Restic: &v1alpha1.ReplicationDestinationResticSpec{
				ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{
					CopyMethod: v1alpha1.CopyMethodSnapshot, Capacity: &size,
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				},
				Repository: repoSecret,
			}},
	}
}

// intoPVC makes rd restore straight into the user's PVC pvc (copyMethod Direct).
func intoPVC(rd *v1alpha1.ReplicationDestination, pvc string) *v1alpha1.ReplicationDestination {
	opts := &rd.Spec.Restic.ReplicationDestinationVolumeOptions
	opts.CopyMethod, opts.DestinationPVC, opts.Capacity, opts.AccessModes = v1alpha1.CopyMethodDirect, ptr.To(pvc), nil, nil
	return rd
}

// pvcVolume is a moverVolume that mounts the PVC claim at /mnt/<mountPath>.
func pvcVolume(mountPath, claim string) []v1alpha1.MoverVolume {
	return []v1alpha1.MoverVolume{{MountPath: mountPath, VolumeSource: v1alpha1.MoverVolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
}

// create creates obj, failing the test on an error.
func create(t *testing.T, obj client.Object) {
	t.Helper()
	cluster.Must(t, cluster.C.Create(cluster.Ctx(t, time.Minute), obj))
}

// Sides, for the shared waits.
func src(rs *v1alpha1.ReplicationSource) scenario.Side {
	return scenario.SourceSide{ReplicationSource: rs}
}
func dst(rd *v1alpha1.ReplicationDestination) scenario.Side {
	return scenario.DestinationSide{ReplicationDestination: rd}
}

// Names of what the controller creates (the reference's Appendix A).

// jobName is the mover Job of a side: volsync-{src,dst}-<owner>, shortened beyond 63 characters.
func jobName(role scenario.Role, owner string) string {
	return scenario.ShortName("volsync-"+string(role)+"-", owner)
}

// cachePVC is restic's cache volume of a side: volsync-{src,dst}-<owner>-cache.
func cachePVC(role scenario.Role, owner string) string {
	return "volsync-" + string(role) + "-" + owner + "-cache"
}

// destPVC is the volume a destination provisions: volsync-<rd>-dest.
func destPVC(rd string) string { return "volsync-" + rd + "-dest" }

// tempCopy is a source's point-in-time copy (Clone PVC or VolumeSnapshot): volsync-<rs>-src.
func tempCopy(rs string) string { return "volsync-" + rs + "-src" }
