package app

// The ClusterRole of every mover controller is generated (`make manifests`) from these
// markers and those in the controller's own main.go, if any: what the shared reconcilers, the
// caches (pkg/common/kinds) and the metrics endpoint use. The rsync-TLS lifecycle tests run
// a controller with exactly the generated role (deploytests.AsDeployed), and
// pkg/deploytests checks it grants every owned kind. Every Pod is watched (stripped to what
// placing a Direct mover needs); VolSync's own ServiceAccounts are cached like its other
// objects. No Role or RoleBinding is made for movers.
//
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
//
// The metrics endpoint asks the API server who a scraper is and whether it may get /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
//
// Leader election: a Role in the controller's namespace only (client-go's lease lock and its
// core/v1 event recorder).
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=volsync-system,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=volsync-system,resources=events,verbs=create;patch
