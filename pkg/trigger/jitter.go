package trigger

import (
	"hash/fnv"
	"time"
)

// DefaultJitter is a suitable limit for Jitter: wide enough to spread thousands of objects
// sharing a slot, small against any cron interval (one minute at least).
const DefaultJitter = 10 * time.Second

// Jitter spreads requeues of many objects: a deterministic offset in [0, limit) derived from
// key (the object's UID or namespace/name), so objects sharing a schedule do not all fire in
// the same second while one object's requeue stays stable. It is 0 when limit <= 0.
func Jitter(key string, limit time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return time.Duration(h.Sum64() % uint64(limit))
}
