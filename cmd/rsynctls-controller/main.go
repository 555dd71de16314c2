// Command rsynctls-controller reconciles the ReplicationSources and ReplicationDestinations
// that use the rsync-over-TLS mover (spec.rsyncTLS) and ignores all others.
package main

import (
	"github.com/volsync-go/volsync/cmd/rsynctls-controller/internal/rsynctls"
	"github.com/volsync-go/volsync/pkg/common/app"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

// The ClusterRole (deploy/kustomize/components/rsync-tls/rbac/role.yaml, `make manifests`)
// holds exactly what the code uses; rbac_test.go in internal/rsynctls runs the controller with
// it. Every Pod is watched (stripped to what placing a Direct mover needs); VolSync's own
// ServiceAccounts are cached like its other objects. No Role or RoleBinding is made for movers.
// +kubebuilder:rbac:groups=volsync.backube,resources=replicationsources;replicationdestinations,verbs=get;list;watch
// +kubebuilder:rbac:groups=volsync.backube,resources=replicationsources/status;replicationdestinations/status,verbs=get;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotclasses,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// The metrics endpoint asks the API server who a scraper is and whether it may get /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// Leader election: a Role in the controller's namespace only (client-go's lease lock and its
// core/v1 event recorder).
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=volsync-system,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=volsync-system,resources=events,verbs=create;patch

func main() {
	app.Main(app.Controller{
		Name:         rsynctls.Name,
		DefaultImage: "quay.io/volsync-go/mover-rsync-tls:latest",
		ImageEnv:     "RSYNC_TLS_IMAGE",
		Builder:      func(image string) mover.Builder { return rsynctls.Builder{Image: image} },
	})
}
