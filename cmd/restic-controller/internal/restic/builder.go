package restic

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

// Name is the mover's name: the method label of metrics.
const Name = "restic"

// kind is the restic mover for the Job skeleton. Its Jobs are volsync-<src|dst>-<obj> and its
// provisioned destination PVCs volsync-<rd>-dest, as in the reference. A privileged mover
// restores ownership and reads every file. restic talks to the outside: it gets the
// controller's proxy environment.
var kind = jobmover.Kind{
	Name: Name, Container: "restic", Component: "restic-mover", UsesProxy: true, ProvisionedSuffix: "dest",
	PlainJobNames:  true,
	PrivilegedCaps: []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"},
}

// Builder plugs the restic mover into the shared reconcilers.
type Builder struct {
	// Image is the mover image.
	Image string
}

var _ mover.Builder = Builder{}

// Name implements mover.Builder.
func (Builder) Name() string { return Name }

// HandlesSource implements mover.Builder.
func (Builder) HandlesSource(rs *v1alpha1.ReplicationSource) bool { return rs.Spec.Restic != nil }

// HandlesDestination implements mover.Builder.
func (Builder) HandlesDestination(rd *v1alpha1.ReplicationDestination) bool {
	return rd.Spec.Restic != nil
}

// FromSource implements mover.Builder.
func (b Builder) FromSource(env mover.Env, rs *v1alpha1.ReplicationSource) (mover.Mover, error) {
	spec := rs.Spec.Restic
	if spec == nil {
		return nil, fmt.Errorf("%s has no restic block", rs.Name)
	}
	return &source{side: side{Side: jobmover.NewSide(kind, b.Image, env, rs, naming.Source),
		repository: spec.Repository, ca: spec.CustomCA, cache: spec.ResticCacheSpec, config: &spec.MoverConfig,
		storageClass: spec.StorageClassName, accessModes: spec.AccessModes,
	}, rs: rs, spec: spec}, nil
}

// FromDestination implements mover.Builder.
func (b Builder) FromDestination(env mover.Env, rd *v1alpha1.ReplicationDestination) (mover.Mover, error) {
	spec := rd.Spec.Restic
	if spec == nil {
		return nil, fmt.Errorf("%s has no restic block", rd.Name)
	}
	return &destination{side: side{Side: jobmover.NewSide(kind, b.Image, env, rd, naming.Destination),
		repository: spec.Repository, ca: spec.CustomCA, cache: spec.ResticCacheSpec, config: &spec.MoverConfig,
		storageClass: spec.StorageClassName, accessModes: spec.AccessModes, cleanupCache: spec.CleanupCachePVC,
	}, rd: rd, spec: spec}, nil
}
