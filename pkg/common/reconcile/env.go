package reconcile

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// moverEnv is what the mover of obj gets from the controller's options.
func (o *Options) moverEnv(obj client.Object, privileged bool) mover.Env {
	return mover.Env{
		Client: o.Client, APIReader: o.APIReader, Clock: o.Clock,
		Events: events.For(o.Recorder, obj), Privileged: privileged,
		PullSecrets: o.PullSecrets, ProxyEnv: o.ProxyEnv,
	}
}
