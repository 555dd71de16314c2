package rsync

import (
	"testing"

	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// testImage is the mover image the controller under test puts in its Jobs.
const testImage = "localhost/rsync:test"

// h runs the rsync controller as deployed (its component's RBAC) with a fake clock.
var h *lifecycle.Harness

func TestMain(m *testing.M) {
	lifecycle.Main(m, lifecycle.Config{
		Builder: Builder{Image: testImage}, Component: "rsync",
		SourceBlock: func(rs *v1alpha1.ReplicationSource, vol v1alpha1.ReplicationSourceVolumeOptions) {
			rs.Spec.Rsync = &v1alpha1.ReplicationSourceRsyncSpec{ReplicationSourceVolumeOptions: vol, Address: ptr.To("dest.example.com")}
		},
		DestinationBlock: func(rd *v1alpha1.ReplicationDestination, vol v1alpha1.ReplicationDestinationVolumeOptions) {
			rd.Spec.Rsync = &v1alpha1.ReplicationDestinationRsyncSpec{ReplicationDestinationVolumeOptions: vol}
		},
	}, &h)
}
