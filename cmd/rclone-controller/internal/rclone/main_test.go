package rclone

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

const (
	// testImage is the mover image the controller under test puts in its Jobs.
	testImage = "localhost/rclone:test"
	// configSecret is the rcloneConfig Secret every test namespace gets.
	configSecret = "rclone-config"
	section      = "bucket"
	destPath     = "volsync/data"
)

// testConfig is the configuration Secret's data: an rclone.conf with two sections and
// RCLONE_* keys, one of them a name the controller sets itself.
var testConfig = map[string]string{
	"rclone.conf":      "[other]\ntype = local\n\n[" + section + "]\ntype = s3\nprovider = Other\naccess_key_id = AKIDSECRETVALUE\nsecret_access_key = VERYSECRETVALUE\n",
	"RCLONE_TRANSFERS": "4",
	"RCLONE_S3_ACL":    "private",
	"RCLONE_DEST_PATH": "ignored/because/the/spec/wins",
	"not-an-env-key":   "x",
}

// h runs the rclone controller as deployed (its component's RBAC) with a fake clock.
var h *lifecycle.Harness

func spec() v1alpha1.RcloneSpec {
	return v1alpha1.RcloneSpec{RcloneConfig: ptr.To(configSecret), RcloneConfigSection: ptr.To(section), RcloneDestPath: ptr.To(destPath)}
}

func TestMain(m *testing.M) {
	lifecycle.Main(m, lifecycle.Config{
		Builder: Builder{Image: testImage}, Component: "rclone", ProvisionedSuffix: "dest",
		SourceBlock: func(rs *v1alpha1.ReplicationSource, vol v1alpha1.ReplicationSourceVolumeOptions) {
			rs.Spec.Rclone = &v1alpha1.ReplicationSourceRcloneSpec{ReplicationSourceVolumeOptions: vol, RcloneSpec: spec()}
		},
		DestinationBlock: func(rd *v1alpha1.ReplicationDestination, vol v1alpha1.ReplicationDestinationVolumeOptions) {
			rd.Spec.Rclone = &v1alpha1.ReplicationDestinationRcloneSpec{ReplicationDestinationVolumeOptions: vol, RcloneSpec: spec()}
		},
		Prepare: func(t *testing.T, c client.Client, ns string) {
			lifecycle.Must(t, c.Create(lifecycle.Context(t), &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: configSecret, Namespace: ns}, StringData: testConfig}))
		},
		UserReads: []string{"secrets/" + configSecret},
	}, &h)
}
