// Command restic-controller reconciles the ReplicationSources and ReplicationDestinations that
// use the restic mover (spec.restic) and ignores all others.
package main

import (
	"github.com/volsync-go/volsync/cmd/restic-controller/internal/restic"
	"github.com/volsync-go/volsync/pkg/common/app"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// Its ClusterRole holds the shared controller's permissions (pkg/common/app/rbac.go) and the
// customCA ConfigMaps it reads (live, once per synchronization):
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get

func main() {
	app.Main(app.Controller{
		Name:         restic.Name,
		DefaultImage: "quay.io/volsync-go/restic:latest",
		ImageEnv:     "RESTIC_IMAGE",
		Builder:      func(image string) mover.Builder { return restic.Builder{Image: image} },
	})
}
