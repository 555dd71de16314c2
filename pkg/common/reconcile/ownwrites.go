package reconcile

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// staleCacheRetry is how soon a reconcile that read its own superseded status runs again.
const staleCacheRetry = 100 * time.Millisecond

// ownWrites remembers, per object, the resourceVersion that the controller's last status write
// replaced. For a moment after that write the cache may still serve the old version; a
// reconcile acting on it would redo or undo the step just stored (for example, clean up the
// Job of the synchronization that has just started). The check is exact: a write guarded by
// the old resourceVersion succeeded, so an object still at that version is stale. It costs no
// API call.
type ownWrites struct {
	m sync.Map // types.NamespacedName -> string (the superseded resourceVersion)
}

// stale reports whether obj is a version the controller's own write has superseded.
func (w *ownWrites) stale(obj client.Object) bool {
	key := client.ObjectKeyFromObject(obj)
	v, ok := w.m.Load(key)
	if !ok {
		return false
	}
	if v == obj.GetResourceVersion() {
		return true
	}
	w.m.CompareAndDelete(key, v) // the cache caught up
	return false
}

// wrote records a successful status write made from before.
func (w *ownWrites) wrote(before client.Object) {
	w.m.Store(client.ObjectKeyFromObject(before), before.GetResourceVersion())
}

// forget drops what is known of a deleted object.
func (w *ownWrites) forget(key types.NamespacedName) { w.m.Delete(key) }
