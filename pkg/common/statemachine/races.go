package statemachine

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// RaceGracePeriod is how long an object may keep losing races quietly. A Conflict or an
// AlreadyExists that persists longer is no ordinary race (an object stuck in deletion, another
// writer fighting over it) and is reported like any other error, so nothing stalls in silence.
const RaceGracePeriod = time.Minute

// Races remembers since when each object (by namespace/name) has been losing races. It is shared by the reconciles
// of one controller; an entry lives only while its object keeps losing, so it stays small.
type Races struct {
	mu    sync.Mutex
	since map[types.NamespacedName]time.Time
}

// quiet records a race of the object key at now and reports whether it is still within RaceGracePeriod.
// A nil Races keeps every race quiet.
func (r *Races) quiet(key types.NamespacedName, now time.Time) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since == nil {
		r.since = map[types.NamespacedName]time.Time{}
	}
	first, ok := r.since[key]
	if !ok {
		r.since[key] = now
		return true
	}
	return now.Sub(first) < RaceGracePeriod
}

// Clear forgets the object key: its last reconcile lost no race, or the object is gone.
func (r *Races) Clear(key types.NamespacedName) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.since, key)
}
