package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/testutil/cachedclient"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

const (
	testTimeout = 30 * time.Second
	pollEvery   = 50 * time.Millisecond
	field       = "keySecret"
	// secretValue is what the tests' Generate puts in a Secret; no message may show it.
	secretValue = "s3cr3t-value-never-shown"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// fixture is a namespace with an owner, and the controller's client (cache only for VolSync's
// objects) counting its writes.
type fixture struct {
	ctx   context.Context
	t     *testing.T
	ns    string
	owner client.Object
	c     *testenv.CountingClient
}

func newFixture(t *testing.T) *fixture {
	ctx := testenv.Context(t, testTimeout)
	ns := env.Namespace(ctx, t, "secrets")
	return &fixture{ctx: ctx, t: t, ns: ns, owner: env.StandInOwner(ctx, t, ns, "app"),
		c: &testenv.CountingClient{Client: cachedclient.Start(t, env)}}
}

// generator returns a Generate that counts its calls and returns data.
func generator(calls *atomic.Int32, data map[string][]byte) func() (map[string][]byte, error) {
	return func() (map[string][]byte, error) {
		calls.Add(1)
		return maps.Clone(data), nil
	}
}

func data() map[string][]byte {
	return map[string][]byte{"key": []byte(secretValue), "other": []byte("x")}
}

// ensure calls o.Ensure until it stops failing with a race the caller retries (the cache has
// not received the Secret just created yet), and returns its result.
func (f *fixture) ensure(o Owned) (*corev1.Secret, error) {
	f.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		s, err := o.Ensure(f.ctx, f.c)
		if err == nil || !strings.Contains(err.Error(), "not in its cache yet") || time.Now().After(deadline) {
			return s, err
		}
		time.Sleep(pollEvery)
	}
}

// ensureAndEdit makes the Secret of o, then changes its data as a user would (edit), and
// returns it as changed; the write count starts again from zero.
func (f *fixture) ensureAndEdit(o Owned, edit func(map[string][]byte)) *corev1.Secret {
	f.t.Helper()
	if _, err := f.ensure(o); err != nil {
		f.t.Fatal(err)
	}
	s := f.read(o.Name)
	patch := client.MergeFrom(s.DeepCopy())
	edit(s.Data)
	if err := env.Client.Patch(f.ctx, s, patch); err != nil {
		f.t.Fatal(err)
	}
	f.c.Reset()
	return s
}

func (f *fixture) read(name string) *corev1.Secret {
	f.t.Helper()
	s := &corev1.Secret{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// wantInvalid checks that err is an ErrInvalid the user must act on, with the message and
// action fragments, and shows no value.
func wantInvalid(t *testing.T, err error, msg, action string) {
	t.Helper()
	var a *mover.ActionError
	switch {
	case err == nil:
		t.Fatal("no error")
	case !errors.Is(err, ErrInvalid) || !errors.As(err, &a):
		t.Fatalf("%v: want an ErrInvalid that requires an action", err)
	case !strings.Contains(err.Error(), msg) || !strings.Contains(a.Action, action):
		t.Fatalf("%q (action %q): want %q (action %q)", err, a.Action, msg, action)
	case strings.Contains(err.Error()+a.Action, secretValue):
		t.Fatalf("the error shows a value: %v", err)
	}
}

// TestOwnedCreatesOnceThenReads: the first Ensure generates and creates the Secret (owned by
// the object, labelled for the cache); later ones read it from the cache, write nothing and
// generate nothing.
func TestOwnedCreatesOnceThenReads(t *testing.T) {
	f := newFixture(t)
	var calls atomic.Int32
	o := Owned{Name: "keys-app", Owner: f.owner, Field: field, Generate: generator(&calls, data()), Check: HasKeys("key")}
	s, err := f.ensure(o)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || f.c.Writes() != 1 {
		t.Fatalf("first Ensure: %d generations, %d writes, want 1 and 1", calls.Load(), f.c.Writes())
	}
	stored := f.read("keys-app")
	if !metav1.IsControlledBy(stored, f.owner) || stored.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue ||
		stored.Type != corev1.SecretTypeOpaque || !maps.EqualFunc(stored.Data, data(), bytes.Equal) || s.Name != stored.Name {
		t.Fatalf("stored Secret: %+v", stored)
	}
	f.c.Reset()
	for range 3 {
		again, err := f.ensure(o)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.EqualFunc(again.Data, stored.Data, bytes.Equal) {
			t.Fatal("Ensure returned other data")
		}
	}
	if calls.Load() != 1 || f.c.Writes() != 0 {
		t.Fatalf("later Ensures: %d generations in all, %d writes, want 1 and 0", calls.Load(), f.c.Writes())
	}
	if rv := f.read("keys-app").ResourceVersion; rv != stored.ResourceVersion {
		t.Fatalf("the Secret was written again (%s -> %s)", stored.ResourceVersion, rv)
	}
}

// TestOwnedForeignSecret: a Secret of the name that VolSync did not create for the object is
// never taken over.
func TestOwnedForeignSecret(t *testing.T) {
	t.Run("the user's", func(t *testing.T) {
		f := newFixture(t)
		user := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys-app", Namespace: f.ns}, Data: map[string][]byte{"key": []byte("mine")}}
		if err := env.Client.Create(f.ctx, user); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		_, err := f.ensure(Owned{Name: "keys-app", Owner: f.owner, Field: field, Generate: generator(&calls, data()), Check: HasKeys("key")})
		// Not in the cache (not labelled): the create finds the name taken. That is a race
		// while it lasts (a create of our own the cache has not shown yet) and says what to do.
		if !apierrors.IsAlreadyExists(err) || !strings.Contains(err.Error(), "if that Secret is not VolSync's, rename it or set "+field) {
			t.Fatalf("%v: want AlreadyExists with the hint", err)
		}
		if got := f.read("keys-app"); !bytes.Equal(got.Data["key"], []byte("mine")) || len(got.OwnerReferences) != 0 {
			t.Fatalf("the user's Secret was changed: %+v", got)
		}
	})
	t.Run("another object's", func(t *testing.T) {
		f := newFixture(t)
		other := env.StandInOwner(f.ctx, t, f.ns, "other")
		theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys-app", Namespace: f.ns,
			Labels: map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}}, Data: data()}
		if err := controllerutil.SetControllerReference(other, theirs, env.Scheme); err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Create(f.ctx, theirs); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		o := Owned{Name: "keys-app", Owner: f.owner, Field: field, Generate: generator(&calls, data()), Check: HasKeys("key")}
		var err error
		// The cache shows it soon; until then the create finds the name taken.
		deadline := time.Now().Add(testTimeout)
		for _, err = o.Ensure(f.ctx, f.c); apierrors.IsAlreadyExists(err) && time.Now().Before(deadline); _, err = o.Ensure(f.ctx, f.c) {
			time.Sleep(pollEvery)
		}
		wantInvalid(t, err, "Secret keys-app exists and was not created for app", "set "+field+" to use it, or rename it")
		if got := f.read("keys-app"); got.ResourceVersion != theirs.ResourceVersion {
			t.Fatal("another object's Secret was changed")
		}
	})
}

// TestOwnedModified: a generated Secret whose data no longer passes Check is an error that
// says to delete it; nothing is written; once deleted, a new one is generated.
func TestOwnedModified(t *testing.T) {
	f := newFixture(t)
	var calls atomic.Int32
	check := func(d map[string][]byte) error {
		if !bytes.Equal(d["key"], []byte(secretValue)) {
			return errors.New("key is not the generated one")
		}
		return nil
	}
	o := Owned{Name: "keys-app", Owner: f.owner, Field: field, Generate: generator(&calls, data()), Check: check}
	s := f.ensureAndEdit(o, func(d map[string][]byte) { d["key"] = []byte("changed") })
	var err error
	f.eventually("the change in the cache", func() error {
		_, err = f.ensure(o)
		if err == nil {
			return errors.New("Ensure still sees the generated data")
		}
		return nil
	})
	wantInvalid(t, err, "generated Secret keys-app was modified (key is not the generated one)", "delete Secret keys-app to get new keys")
	if f.c.Writes() != 0 || calls.Load() != 1 {
		t.Fatalf("%d writes, %d generations: a modified Secret must be left as it is", f.c.Writes(), calls.Load())
	}
	if err := env.Client.Delete(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	f.eventually("a new Secret", func() error {
		_, err := f.ensure(o)
		return err
	})
	if calls.Load() != 2 || !bytes.Equal(f.read("keys-app").Data["key"], []byte(secretValue)) {
		t.Fatalf("%d generations: want a new Secret", calls.Load())
	}
}

// TestOwnedDerivedRestores: a Derived Secret is kept equal to what Generate says: changed,
// added and removed keys are put back in one write, and nothing is written when it is equal.
func TestOwnedDerivedRestores(t *testing.T) {
	f := newFixture(t)
	var calls atomic.Int32
	o := Owned{Name: "half-app", Owner: f.owner, Field: field, Generate: generator(&calls, data()), Derived: true}
	f.ensureAndEdit(o, func(d map[string][]byte) {
		d["key"] = []byte("changed")
		d["extra"] = []byte("added")
		delete(d, "other")
	})
	f.eventually("restored", func() error {
		if _, err := f.ensure(o); err != nil && !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
		if got := f.read("half-app").Data; !maps.EqualFunc(got, data(), bytes.Equal) {
			return fmt.Errorf("keys %v", slices.Sorted(maps.Keys(got)))
		}
		return nil
	})
	if f.c.Writes() == 0 {
		t.Fatal("restored without a write of Ensure")
	}
	f.eventually("the restored Secret in the cache", func() error {
		f.c.Reset()
		if _, err := f.ensure(o); err != nil {
			return err
		}
		if f.c.Writes() != 0 {
			return errors.New("Ensure still writes")
		}
		return nil
	})
}

func (f *fixture) eventually(what string, cond func() error) {
	f.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		time.Sleep(pollEvery)
	}
}

// failingReader fails every read with err.
type failingReader struct {
	client.Reader
	err error
}

func (r failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return r.err
}

// TestUser: the user's Secret is read and checked; what is wrong is an ErrInvalid with what to
// do, never a value; a failed read is not the user's to fix.
func TestUser(t *testing.T) {
	f := newFixture(t)
	if err := env.Client.Create(f.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: f.ns}, Data: data()}); err != nil {
		t.Fatal(err)
	}
	s, err := User(f.ctx, env.Client, f.ns, "mine", field, HasKeys("key", "other"))
	if err != nil || s.Name != "mine" || !bytes.Equal(s.Data["key"], []byte(secretValue)) {
		t.Fatalf("User: %v %+v", err, s)
	}
	_, err = User(f.ctx, env.Client, f.ns, "absent", field, HasKeys("key"))
	wantInvalid(t, err, "Secret absent not found ("+field+")", "create Secret absent in namespace "+f.ns+", or unset "+field)
	_, err = User(f.ctx, env.Client, f.ns, "mine", field, HasKeys("key", "missing", "gone"))
	wantInvalid(t, err, "Secret mine ("+field+"): missing key(s) [missing gone] (it needs [key missing gone])", "correct Secret mine")
	_, err = User(f.ctx, env.Client, f.ns, "mine", field, func(map[string][]byte) error { return errors.New("key is too short") })
	wantInvalid(t, err, "Secret mine ("+field+"): key is too short", "correct Secret mine")

	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "mine", errors.New("no"))
	_, err = User(f.ctx, failingReader{err: forbidden}, f.ns, "mine", field, HasKeys("key"))
	var a *mover.ActionError
	if !apierrors.IsForbidden(err) || errors.Is(err, ErrInvalid) || errors.As(err, &a) || !strings.Contains(err.Error(), "reading Secret mine ("+field+")") {
		t.Fatalf("%v: want the read error, not an invalid Secret", err)
	}
}

// TestHasKeys: empty values count as missing; the message lists what is missing and needed.
func TestHasKeys(t *testing.T) {
	check := HasKeys("a", "b", "c")
	if err := check(map[string][]byte{"a": {1}, "b": {1}, "c": {1}, "d": nil}); err != nil {
		t.Fatal(err)
	}
	err := check(map[string][]byte{"a": []byte(secretValue), "b": {}})
	if err == nil || err.Error() != "missing key(s) [b c] (it needs [a b c])" {
		t.Fatalf("HasKeys: %v", err)
	}
}
