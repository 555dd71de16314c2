package syncthing

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/syncthing-controller/internal/stapi"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// Name is the mover's name: the method label of metrics.
const Name = "syncthing"

// privilegedCaps are what a privileged syncthing gets (namespace opt-in): it keeps files'
// owners and reads and writes every file of the volume.
var privilegedCaps = []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"}

// Builder plugs the Syncthing mover into the shared reconcilers. Syncthing replicates
// ReplicationSources only.
type Builder struct {
	// Image is the mover image.
	Image string
	// APIs keeps one API client per object; nil: one for this Builder (NewBuilder).
	APIs *Clients
	// Poll is how often a running syncthing is polled (0: PollInterval).
	Poll time.Duration
}

// NewBuilder returns a Builder whose API clients dial with dial (nil: the network).
func NewBuilder(image string, dial stapi.Dialer) Builder {
	return Builder{Image: image, APIs: NewClients(dial)}
}

var _ mover.Builder = Builder{}

// Name implements mover.Builder.
func (Builder) Name() string { return Name }

// HandlesSource implements mover.Builder.
func (Builder) HandlesSource(rs *v1alpha1.ReplicationSource) bool { return rs.Spec.Syncthing != nil }

// HandlesDestination implements mover.Builder: Syncthing has no ReplicationDestination.
func (Builder) HandlesDestination(*v1alpha1.ReplicationDestination) bool { return false }

// FromSource implements mover.Builder.
func (b Builder) FromSource(env mover.Env, rs *v1alpha1.ReplicationSource) (mover.Mover, error) {
	if rs.Spec.Syncthing == nil {
		return nil, errors.New(rs.Name + " has no syncthing block")
	}
	apis := b.APIs
	if apis == nil {
		apis = NewClients(nil)
	}
	poll := b.Poll
	if poll <= 0 {
		poll = PollInterval
	}
	return &source{env: env, rs: rs, spec: rs.Spec.Syncthing, image: b.Image, apis: apis, names: namesOf(rs.Name), every: poll}, nil
}

// FromDestination implements mover.Builder (never called: HandlesDestination is false).
func (Builder) FromDestination(mover.Env, *v1alpha1.ReplicationDestination) (mover.Mover, error) {
	return nil, errors.New("syncthing has no ReplicationDestination")
}

var _ mover.Releaser = Builder{}

// Release implements mover.Releaser: a ReplicationSource moved to another mover stops its
// syncthing (the Deployment, which writes the user's volume) at once. The Secret, the config
// PVC and the Services stay until the object is deleted (they hold the device identity, should
// the user move back).
func (b Builder) Release(ctx context.Context, c client.Client, obj client.Object) error {
	if b.APIs != nil {
		b.APIs.Drop(client.ObjectKeyFromObject(obj))
	}
	d := &appsv1.Deployment{}
	err := c.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: namesOf(obj.GetName()).Deployment}, d)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(d, obj)) {
		return nil
	}
	if err != nil {
		return err
	}
	log.FromContext(ctx).Info("Deleting the syncthing Deployment of an object moved to another mover", "deployment", d.Name)
	if err := c.Delete(ctx, d, client.Preconditions{UID: &d.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Deployment %s: %w", d.Name, err)
	}
	return nil
}
