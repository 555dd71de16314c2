package syncthing

import (
	"crypto/sha256"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/volsync-go/volsync/cmd/syncthing-controller/internal/stapi"
)

// clientIdle is how long an API client unused (its object deleted or moved to another mover)
// is kept before it and its connection are dropped.
const clientIdle = 10 * time.Minute

// Clients keeps one API client per object, so polls reuse a kept-alive TLS connection. A
// client is replaced when its endpoint (address, certificate, key) changes.
type Clients struct {
	dial stapi.Dialer
	mu   sync.Mutex
	m    map[types.NamespacedName]*entry
	// swept is when unused clients were last dropped.
	swept time.Time
}

type entry struct {
	key  [32]byte
	c    *stapi.Client
	used time.Time
}

// NewClients returns an empty set of clients dialling with dial (nil: the network).
func NewClients(dial stapi.Dialer) *Clients {
	return &Clients{dial: dial, m: map[types.NamespacedName]*entry{}}
}

// For returns the client of obj for endpoint e.
func (cs *Clients) For(obj types.NamespacedName, e stapi.Endpoint, now time.Time) (*stapi.Client, error) {
	h := sha256.New()
	for _, s := range []string{e.Address, e.ServerName, string(e.CertPEM), e.APIKey} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var key [32]byte
	copy(key[:], h.Sum(nil))
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.sweep(now)
	if en, ok := cs.m[obj]; ok && en.key == key {
		en.used = now
		return en.c, nil
	}
	c, err := stapi.New(e, cs.dial)
	if err != nil {
		return nil, err
	}
	if old, ok := cs.m[obj]; ok {
		old.c.Close()
	}
	cs.m[obj] = &entry{key: key, c: c, used: now}
	return c, nil
}

func (cs *Clients) sweep(now time.Time) {
	if now.Sub(cs.swept) < time.Minute {
		return
	}
	cs.swept = now
	for k, en := range cs.m {
		if now.Sub(en.used) > clientIdle {
			en.c.Close()
			delete(cs.m, k)
		}
	}
}

// Drop closes and forgets obj's client.
func (cs *Clients) Drop(obj types.NamespacedName) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if en, ok := cs.m[obj]; ok {
		en.c.Close()
		delete(cs.m, obj)
	}
}
