package rclone

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

// Name is the mover's name: the method label of metrics and the Job name prefix.
const Name = "rclone"

// kind is the rclone mover for the Job skeleton. A privileged mover restores ownership and
// modes (setgid bits of other groups) from the source's manifest. rclone talks to the outside:
// it gets the controller's proxy environment. Provisioned destination PVCs are named
// volsync-<rd>-dest, as in the reference.
var kind = jobmover.Kind{
	Name: Name, Container: "rclone", Component: "rclone-mover", UsesProxy: true, ProvisionedSuffix: "dest",
	PrivilegedCaps: []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"},
}

// Builder plugs the rclone mover into the shared reconcilers.
type Builder struct {
	// Image is the mover image.
	Image string
}

var _ mover.Builder = Builder{}

// Name implements mover.Builder.
func (Builder) Name() string { return Name }

// HandlesSource implements mover.Builder.
func (Builder) HandlesSource(rs *v1alpha1.ReplicationSource) bool { return rs.Spec.Rclone != nil }

// HandlesDestination implements mover.Builder.
func (Builder) HandlesDestination(rd *v1alpha1.ReplicationDestination) bool {
	return rd.Spec.Rclone != nil
}

// FromSource implements mover.Builder.
func (b Builder) FromSource(env mover.Env, rs *v1alpha1.ReplicationSource) (mover.Mover, error) {
	if rs.Spec.Rclone == nil {
		return nil, fmt.Errorf("%s has no rclone block", rs.Name)
	}
	return &source{side: side{Side: jobmover.NewSide(kind, b.Image, env, rs, naming.Source), spec: &rs.Spec.Rclone.RcloneSpec},
		rs: rs, opts: rs.Spec.Rclone.ReplicationSourceVolumeOptions}, nil
}

// FromDestination implements mover.Builder.
func (b Builder) FromDestination(env mover.Env, rd *v1alpha1.ReplicationDestination) (mover.Mover, error) {
	if rd.Spec.Rclone == nil {
		return nil, fmt.Errorf("%s has no rclone block", rd.Name)
	}
	return &destination{side: side{Side: jobmover.NewSide(kind, b.Image, env, rd, naming.Destination), spec: &rd.Spec.Rclone.RcloneSpec},
		rd: rd, opts: rd.Spec.Rclone.ReplicationDestinationVolumeOptions}, nil
}
