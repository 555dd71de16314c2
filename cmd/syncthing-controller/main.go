// Command syncthing-controller reconciles the ReplicationSources that use the Syncthing mover
// (spec.syncthing) and ignores all others. Syncthing has no ReplicationDestination.
package main

import (
	"github.com/volsync-go/volsync/cmd/syncthing-controller/internal/syncthing"
	"github.com/volsync-go/volsync/pkg/common/app"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// Its ClusterRole holds the shared controller's permissions (pkg/common/app/rbac.go) and the
// mover Deployments it alone owns (kinds.Deployment; deleted when an object moves to another
// mover):
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete

func main() {
	app.Main(app.Controller{
		Name:         syncthing.Name,
		DefaultImage: "quay.io/volsync-go/syncthing:latest",
		ImageEnv:     "SYNCTHING_IMAGE",
		Builder:      func(image string) mover.Builder { return syncthing.NewBuilder(image, nil) },
		Kinds:        []kinds.Kind{kinds.Deployment},
	})
}
