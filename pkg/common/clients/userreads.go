package clients

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// UserReader reads the user's objects a synchronization depends on (the source PVC, a key
// Secret, moverVolumes, a ServiceAccount named in the spec). They are not VolSync's, so they
// are not in the controller's cache; UserReads reads each one live once per synchronization.
type UserReader interface {
	client.Reader
	// Forget drops obj from what the synchronization remembers, so the next Get reads it live
	// again: after the controller changed it, or while waiting for the user to change it.
	Forget(obj client.Object)
}

// UserReads remembers, per replication object and synchronization, the user objects read
// live. A synchronization's many reconciles (each change of its Job wakes one) then read them
// once: at its first reconcile, or again after the controller restarts. Only successful reads
// are kept, so a missing object the user then creates is seen at the next retry. Nothing is
// kept between synchronizations: a reader For an object that is not synchronizing reads live.
type UserReads struct {
	mu   sync.Mutex
	objs map[types.NamespacedName]*syncReads
}

type syncReads struct {
	sync string
	objs map[userKey]client.Object
}

type userKey struct {
	typ string
	key client.ObjectKey
}

// NewUserReads returns an empty memory.
func NewUserReads() *UserReads {
	return &UserReads{objs: map[types.NamespacedName]*syncReads{}}
}

// For returns the reader of the replication object owner, reading through live. sync
// identifies the synchronization in progress when a read is made (its start time; "" when
// none): it is called at each read because a reconcile starts a synchronization midway.
func (u *UserReads) For(owner types.NamespacedName, live client.Reader, sync func() string) UserReader {
	return &userReader{reads: u, owner: owner, live: live, sync: sync}
}

// Objects is how many objects are remembered for owner.
func (u *UserReads) Objects(owner types.NamespacedName) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.objs[owner]; ok {
		return len(s.objs)
	}
	return 0
}

// Drop forgets everything read for owner (the object is gone or no longer handled).
func (u *UserReads) Drop(owner types.NamespacedName) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.objs, owner)
}

// lookup returns the remembered copy of k for owner's synchronization sync, dropping what
// another synchronization left.
func (u *UserReads) lookup(owner types.NamespacedName, sync string, k userKey) (client.Object, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.objs[owner]
	if !ok {
		return nil, false
	}
	if s.sync != sync {
		delete(u.objs, owner)
		return nil, false
	}
	o, ok := s.objs[k]
	return o, ok
}

func (u *UserReads) store(owner types.NamespacedName, sync string, k userKey, obj client.Object) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.objs[owner]
	if !ok || s.sync != sync {
		s = &syncReads{sync: sync, objs: map[userKey]client.Object{}}
		u.objs[owner] = s
	}
	s.objs[k] = obj
}

func (u *UserReads) forget(owner types.NamespacedName, k userKey) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.objs[owner]; ok {
		delete(s.objs, k)
	}
}

type userReader struct {
	reads *UserReads
	owner types.NamespacedName
	live  client.Reader
	sync  func() string
}

// keyOf identifies obj by its Go type (a typed object and its metadata-only form differ) and key.
func keyOf(obj client.Object, key client.ObjectKey) userKey {
	return userKey{typ: fmt.Sprintf("%T", obj), key: key}
}

func (r *userReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	sync := r.sync()
	k := keyOf(obj, key)
	if sync != "" {
		if o, ok := r.reads.lookup(r.owner, sync, k); ok {
			reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(o.DeepCopyObject()).Elem())
			return nil
		}
	}
	if err := r.live.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if sync != "" {
		r.reads.store(r.owner, sync, k, obj.DeepCopyObject().(client.Object))
	}
	return nil
}

// List is not remembered: no synchronization step lists user objects.
func (r *userReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return r.live.List(ctx, list, opts...)
}

func (r *userReader) Forget(obj client.Object) {
	r.reads.forget(r.owner, keyOf(obj, client.ObjectKeyFromObject(obj)))
}

// Live is a UserReader that remembers nothing (tests, and callers outside a reconcile).
func Live(r client.Reader) UserReader { return liveReader{r} }

type liveReader struct{ client.Reader }

func (liveReader) Forget(client.Object) {}
