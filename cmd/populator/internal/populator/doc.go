// Package populator fills a PersistentVolumeClaim whose spec.dataSourceRef names a
// ReplicationDestination (apiGroup volsync.backube) with the destination's latest image.
//
// The flow follows the Kubernetes volume-populator pattern: a temporary "prime" PVC
// (vs-prime-<PVC UID>) restores the latest VolumeSnapshot through the storage class's own
// provisioner; once it is bound, its PersistentVolume is handed to the user's PVC by rewriting
// the volume's claimRef; when the user's PVC is bound and the prime PVC is Lost, the prime PVC
// is deleted. The snapshot is protected while it is being restored from: it is labelled for
// the PVC (a destination's cleanup then leaves it alone) and owned by the prime PVC, so a
// snapshot its ReplicationDestination has replaced meanwhile goes away with the prime PVC.
//
// Every reason a PVC waits or cannot be populated is an event on it, emitted when the reason
// changes rather than at every reconcile. The decisions are pure functions (plan.go); the
// reconciler (reconciler.go) reads the cache, applies them and writes.
package populator
