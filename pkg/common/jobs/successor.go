package jobs

import (
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/types"
)

// handoverTTL bounds how long the counts of a successor that was never created are remembered
// (its owner went away while the old Job lingered). Every reconcile that still sees the old Job
// renews them, so this only has to cover the moment between its removal and our next look.
const handoverTTL = time.Hour

// counts are the failed, stalled and waiting Jobs of the current synchronization, carried
// from a replaced Job to its successor (they set the retry delay, the start timeout and the
// wait before a mover that found nothing to do looks again).
type counts struct{ failed, stalled, waited int }

// countKeys are the annotations of a Job's own counts, nextKeys those a replaced Job hands to
// its successor.
var (
	countKeys = [3]string{FailedJobsAnnotation, StalledJobsAnnotation, WaitedJobsAnnotation}
	nextKeys  = [3]string{NextFailedJobsAnnotation, NextStalledJobsAnnotation, NextWaitedJobsAnnotation}
)

// annotations are the counts under keys; a zero count is left out.
func (c counts) annotations(keys [3]string) map[string]string {
	kv := map[string]string{}
	for i, n := range [3]int{c.failed, c.stalled, c.waited} {
		if n > 0 {
			kv[keys[i]] = strconv.Itoa(n)
		}
	}
	return kv
}

// successorAnnotations are the counts as a replaced Job hands them to its successor.
func (c counts) successorAnnotations() map[string]string { return c.annotations(nextKeys) }

// readCounts reads the counts stored under keys.
func readCounts(job *batchv1.Job, keys [3]string) counts {
	return counts{failed: annotationInt(job, keys[0]), stalled: annotationInt(job, keys[1]), waited: annotationInt(job, keys[2])}
}

// successorCounts reads the counts a replaced Job hands to its successor; ok is false for a
// Job that is not being replaced (a cleanup, an outdated Job).
func successorCounts(job *batchv1.Job) (c counts, ok bool) {
	c = readCounts(job, nextKeys)
	return c, c != counts{}
}

// handoverKey names a mover Job of one owner (a recreated owner starts afresh).
type handoverKey struct {
	namespace, name string
	owner           types.UID
}

type handoverEntry struct {
	next counts
	seen time.Time
}

// handovers remembers the counts of successors that could not be created yet because their
// predecessor is still being deleted: once it is gone, so are its annotations. It lives as long
// as the process; after a restart the counts are read again from the lingering Job.
type handovers struct {
	mu sync.Mutex
	m  map[handoverKey]handoverEntry
}

// successors is the process-wide memory: Runners are built per reconcile.
var successors = &handovers{}

func (r Runner) pending() *handovers {
	if r.successors != nil {
		return r.successors
	}
	return successors
}

func (r Runner) successorKey(s Spec) handoverKey {
	return handoverKey{namespace: s.Owner.GetNamespace(), name: s.Name, owner: s.Owner.GetUID()}
}

func (h *handovers) remember(k handoverKey, c counts, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[handoverKey]handoverEntry{}
	}
	for key, e := range h.m {
		if now.Sub(e.seen) > handoverTTL {
			delete(h.m, key)
		}
	}
	h.m[k] = handoverEntry{next: c, seen: now}
}

func (h *handovers) get(k handoverKey) counts {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[k].next
}

func (h *handovers) forget(k handoverKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, k)
}
