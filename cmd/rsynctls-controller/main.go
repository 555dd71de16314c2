// Command rsynctls-controller reconciles the ReplicationSources and ReplicationDestinations
// that use the rsync-over-TLS mover (spec.rsyncTLS) and ignores all others.
package main

import (
	"github.com/volsync-go/volsync/cmd/rsynctls-controller/internal/rsynctls"
	"github.com/volsync-go/volsync/pkg/common/app"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// Its ClusterRole holds the shared controller's permissions (pkg/common/app/rbac.go) and
// nothing else; rbac_test.go in internal/rsynctls runs the controller with it.

func main() {
	app.Main(app.Controller{
		Name:         rsynctls.Name,
		DefaultImage: "quay.io/volsync-go/rsync-tls:latest",
		ImageEnv:     "RSYNC_TLS_IMAGE",
		Builder:      func(image string) mover.Builder { return rsynctls.Builder{Image: image} },
	})
}
