// Command rclone-controller reconciles the ReplicationSources and ReplicationDestinations that
// use the rclone mover (spec.rclone) and ignores all others.
package main

import (
	"github.com/volsync-go/volsync/cmd/rclone-controller/internal/rclone"
	"github.com/volsync-go/volsync/pkg/common/app"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// Its ClusterRole holds the shared controller's permissions (pkg/common/app/rbac.go) and the
// customCA ConfigMaps it reads (live, once per synchronization):
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get

func main() {
	app.Main(app.Controller{
		Name:         rclone.Name,
		DefaultImage: "quay.io/volsync-go/rclone:latest",
		ImageEnv:     "RCLONE_IMAGE",
		Builder:      func(image string) mover.Builder { return rclone.Builder{Image: image} },
	})
}
