// Command rsync-controller reconciles the ReplicationSources and ReplicationDestinations that
// use the rsync (ssh) mover (spec.rsync) and ignores all others.
package main

import (
	"github.com/volsync-go/volsync/cmd/rsync-controller/internal/rsync"
	"github.com/volsync-go/volsync/pkg/common/app"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// Its ClusterRole holds the shared controller's permissions (pkg/common/app/rbac.go) and
// nothing else.

func main() {
	app.Main(app.Controller{
		Name:         rsync.Name,
		DefaultImage: "quay.io/volsync-go/rsync:latest",
		ImageEnv:     "RSYNC_IMAGE",
		Builder:      func(image string) mover.Builder { return rsync.Builder{Image: image} },
	})
}
