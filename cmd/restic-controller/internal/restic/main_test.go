package restic

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

const (
	// testImage is the mover image the controller under test puts in its Jobs.
	testImage = "localhost/restic:test"
	// repoSecret is the repository Secret every test namespace gets.
	repoSecret = "restic-repo"
)

// testRepo is the repository Secret's data: the two required keys, optional keys of the
// reference's list, an RCLONE_* key, Google credentials, and a key that is not passed.
var testRepo = map[string]string{
	"RESTIC_REPOSITORY":              "s3:http://s3.example.com/bucket/volsync",
	"RESTIC_PASSWORD":                "VERYSECRETPASSWORD",
	"AWS_ACCESS_KEY_ID":              "AKIDSECRETVALUE",
	"AWS_SECRET_ACCESS_KEY":          "VERYSECRETVALUE",
	"RESTIC_COMPRESSION":             "max",
	"RCLONE_CONFIG_REMOTE_TYPE":      "s3",
	"GOOGLE_APPLICATION_CREDENTIALS": `{"type":"service_account","private_key":"SECRETVALUE"}`,
	"not-passed":                     "x",
}

// h runs the restic controller as deployed (its component's RBAC) with a fake clock.
var h *lifecycle.Harness

func TestMain(m *testing.M) {
	lifecycle.Main(m, lifecycle.Config{
		Builder: Builder{Image: testImage}, Component: "restic", ProvisionedSuffix: "dest", PlainJobNames: true,
		SourceBlock: func(rs *v1alpha1.ReplicationSource, vol v1alpha1.ReplicationSourceVolumeOptions) {
			rs.Spec.Restic = &v1alpha1.ReplicationSourceResticSpec{ReplicationSourceVolumeOptions: vol, Repository: repoSecret}
		},
		DestinationBlock: func(rd *v1alpha1.ReplicationDestination, vol v1alpha1.ReplicationDestinationVolumeOptions) {
			rd.Spec.Restic = &v1alpha1.ReplicationDestinationResticSpec{ReplicationDestinationVolumeOptions: vol, Repository: repoSecret}
		},
		Prepare: func(t *testing.T, c client.Client, ns string) {
			lifecycle.Must(t, c.Create(lifecycle.Context(t), &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: repoSecret, Namespace: ns}, StringData: testRepo}))
		},
		UserReads: []string{"secrets/" + repoSecret},
	}, &h)
}
