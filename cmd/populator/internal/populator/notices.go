package populator

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// notices remembers the last notice emitted for each PVC, so that a reconcile that finds the
// same reason to wait emits nothing. It is memory only: after a restart each waiting PVC gets
// its notice once more.
type notices struct {
	mu   sync.Mutex
	last map[types.NamespacedName]noticeKey
}

type noticeKey struct {
	uid    types.UID
	notice Notice
}

// changed records n for the PVC and reports whether it differs from the last one.
func (l *notices) changed(pvc types.NamespacedName, uid types.UID, n Notice) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[types.NamespacedName]noticeKey{}
	}
	k := noticeKey{uid: uid, notice: n}
	if l.last[pvc] == k {
		return false
	}
	l.last[pvc] = k
	return true
}

// forget drops what was recorded for the PVC (gone or populated).
func (l *notices) forget(pvc types.NamespacedName) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.last, pvc)
}
