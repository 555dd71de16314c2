package clients

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CreatedGrace is how long an object this process created may be missing from the cache
// before a miss is trusted again. Informers deliver a create within milliseconds; the bound
// only matters when the object was deleted before the cache ever saw it.
const CreatedGrace = 30 * time.Second

type createdKey struct {
	gk  schema.GroupKind
	key client.ObjectKey
}

type createdEntry struct {
	uid types.UID
	at  time.Time
}

// creations remembers the objects this process created until its cache has them (the
// expectations of Kubernetes' own controllers), so a reconcile that runs before the informer
// delivers a create does not create the object again.
type creations struct {
	mu      sync.Mutex
	clock   clock.PassiveClock
	entries map[createdKey]createdEntry
	// swept is when expired entries were last dropped (entries of objects never read again).
	swept time.Time
}

func newCreations(c clock.PassiveClock) *creations {
	return &creations{clock: c, entries: map[createdKey]createdEntry{}}
}

func (c *creations) add(gk schema.GroupKind, key client.ObjectKey, uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	c.entries[createdKey{gk, key}] = createdEntry{uid: uid, at: now}
	if now.Sub(c.swept) < CreatedGrace {
		return
	}
	c.swept = now
	for k, e := range c.entries {
		if now.Sub(e.at) >= CreatedGrace {
			delete(c.entries, k)
		}
	}
}

// pending reports whether key was created within CreatedGrace and not seen in the cache yet.
// Expired entries are dropped as they are met.
func (c *creations) pending(gk schema.GroupKind, key client.ObjectKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := createdKey{gk, key}
	e, ok := c.entries[k]
	if !ok {
		return false
	}
	if c.clock.Since(e.at) >= CreatedGrace {
		delete(c.entries, k)
		return false
	}
	return true
}

// seen drops the entry of key once the cache holds the object that was created (same UID).
func (c *creations) seen(gk schema.GroupKind, key client.ObjectKey, uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := createdKey{gk, key}
	if e, ok := c.entries[k]; ok && e.uid == uid {
		delete(c.entries, k)
	}
}

func (c *creations) forget(gk schema.GroupKind, key client.ObjectKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, createdKey{gk, key})
}
