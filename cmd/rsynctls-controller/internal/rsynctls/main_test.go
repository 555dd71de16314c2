package rsynctls

import (
	"testing"

	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// testImage is the mover image the controller under test puts in its Jobs.
const testImage = "localhost/rsync-tls:test"

// h runs the rsync-TLS controller as deployed (its component's RBAC) with a fake clock, so
// schedules and backoff are driven by the tests.
var h *lifecycle.Harness

func TestMain(m *testing.M) {
	lifecycle.Main(m, lifecycle.Config{
		Builder: Builder{Image: testImage}, Component: "rsync-tls",
		SourceBlock: func(rs *v1alpha1.ReplicationSource, vol v1alpha1.ReplicationSourceVolumeOptions) {
			rs.Spec.RsyncTLS = &v1alpha1.ReplicationSourceRsyncTLSSpec{ReplicationSourceVolumeOptions: vol, Address: ptr.To("dest.example.com")}
		},
		DestinationBlock: func(rd *v1alpha1.ReplicationDestination, vol v1alpha1.ReplicationDestinationVolumeOptions) {
			rd.Spec.RsyncTLS = &v1alpha1.ReplicationDestinationRsyncTLSSpec{ReplicationDestinationVolumeOptions: vol}
		},
	}, &h)
}
