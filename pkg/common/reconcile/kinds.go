package reconcile

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/statemachine"
	"github.com/volsync-go/volsync/pkg/pit"
)

func sourceKind(b mover.Builder) kind[*v1alpha1.ReplicationSource] {
	return kind[*v1alpha1.ReplicationSource]{
		role:    naming.Source,
		newObj:  func() *v1alpha1.ReplicationSource { return &v1alpha1.ReplicationSource{} },
		handles: b.HandlesSource,
		build:   b.FromSource,
		view: func(rs *v1alpha1.ReplicationSource, _ mover.Env) statemachine.Object {
			return sourceView{rs}
		},
		status: func(rs *v1alpha1.ReplicationSource) any { return rs.Status },
	}
}

func destinationKind(b mover.Builder) kind[*v1alpha1.ReplicationDestination] {
	return kind[*v1alpha1.ReplicationDestination]{
		role:    naming.Destination,
		newObj:  func() *v1alpha1.ReplicationDestination { return &v1alpha1.ReplicationDestination{} },
		handles: b.HandlesDestination,
		build:   b.FromDestination,
		view: func(rd *v1alpha1.ReplicationDestination, env mover.Env) statemachine.Object {
			return destinationView{ReplicationDestination: rd, pit: pitHandler(env, rd)}
		},
		status: func(rd *v1alpha1.ReplicationDestination) any { return rd.Status },
		prepare: func(ctx context.Context, rd *v1alpha1.ReplicationDestination, env mover.Env) error {
			return pitHandler(env, rd).RelinquishDoNotDelete(ctx)
		},
	}
}

func pitHandler(env mover.Env, rd *v1alpha1.ReplicationDestination) pit.Handler {
	return pit.Handler{Client: env.Client, Owner: rd, Events: env.Events, Clock: env.Clock}
}

// sourceView embeds the object for its metadata methods.
type sourceView struct{ *v1alpha1.ReplicationSource }

func (v sourceView) Trigger() *v1alpha1.TriggerSpec { return v.Spec.Trigger }
func (v sourceView) Paused() bool                   { return v.Spec.Paused }
func (v sourceView) Status() *v1alpha1.CommonStatus {
	if v.ReplicationSource.Status == nil {
		v.ReplicationSource.Status = &v1alpha1.ReplicationSourceStatus{}
	}
	return &v.ReplicationSource.Status.CommonStatus
}
func (v sourceView) SetImage(context.Context, *corev1.TypedLocalObjectReference) error { return nil }

// destinationView embeds the object for its metadata methods.
type destinationView struct {
	*v1alpha1.ReplicationDestination
	pit pit.Handler
}

func (v destinationView) Trigger() *v1alpha1.TriggerSpec {
	return v.Spec.Trigger
}
func (v destinationView) Paused() bool { return v.Spec.Paused }
func (v destinationView) Status() *v1alpha1.CommonStatus {
	if v.ReplicationDestination.Status == nil {
		v.ReplicationDestination.Status = &v1alpha1.ReplicationDestinationStatus{}
	}
	return &v.ReplicationDestination.Status.CommonStatus
}

// SetImage publishes a new latestImage and marks the one it replaces for deletion.
func (v destinationView) SetImage(ctx context.Context, img *corev1.TypedLocalObjectReference) error {
	v.Status()
	if err := v.pit.RotateImage(ctx, v.ReplicationDestination.Status.LatestImage, img); err != nil {
		return err
	}
	v.ReplicationDestination.Status.LatestImage = img
	return nil
}
