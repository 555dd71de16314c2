package rsync

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// side is one object of a test and what its keys look like.
type side struct {
	role naming.Role
	obj  client.Object
	// own and peer are the keys of the Secret the mover mounts and of the one published.
	own, peer []string
}

// startSide creates a source (Direct, of a bound PVC "data") or a destination (Direct) in ns,
// edited by edit.
func startSide(t *testing.T, ns string, role naming.Role, name string, edit func(client.Object)) side {
	t.Helper()
	s := side{role: role}
	if role == naming.Source {
		s.obj = h.NewSource(ns, name, "data", v1alpha1.CopyMethodDirect, &v1alpha1.TriggerSpec{Manual: "once"})
		s.own, s.peer = sourceKeys, destinationKeys
		h.SourcePVC(t, ns, "data")
	} else {
		vol := lifecycle.DestinationVolumes()
		vol.CopyMethod = v1alpha1.CopyMethodDirect
		s.obj, s.own, s.peer = h.DestinationWith(ns, name, "once", vol), destinationKeys, sourceKeys
	}
	if edit != nil {
		edit(s.obj)
	}
	h.Create(t, s.obj)
	return s
}

// job waits for the side's Job (binding a destination's volume first).
func (s side) job(t *testing.T) *batchv1.Job {
	t.Helper()
	if s.role == naming.Destination {
		h.DestinationPVC(t, s.obj.GetNamespace(), s.obj.GetName())
	}
	return h.FindJob(t, s.obj.GetNamespace(), h.JobName(s.role, s.obj.GetName()))
}

// secret reads a Secret of the side's namespace.
func (s side) secret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	sec := &corev1.Secret{}
	lifecycle.Must(t, h.Get(lifecycle.Context(t), s.obj.GetNamespace(), name, sec))
	return sec
}

// published returns status.rsync.sshKeys of the side's object as it is now.
func (s side) published(t *testing.T) *string {
	t.Helper()
	lifecycle.Must(t, h.Get(lifecycle.Context(t), s.obj.GetNamespace(), s.obj.GetName(), s.obj))
	switch o := s.obj.(type) {
	case *v1alpha1.ReplicationSource:
		if o.Status != nil && o.Status.Rsync != nil {
			return o.Status.Rsync.SSHKeys
		}
	case *v1alpha1.ReplicationDestination:
		if o.Status != nil && o.Status.Rsync != nil {
			return o.Status.Rsync.SSHKeys
		}
	}
	return nil
}

// checkGenerated checks the three generated Secrets of a side and returns the main one's data.
func (s side) checkGenerated(t *testing.T) map[string][]byte {
	t.Helper()
	names := keySecretNames(s.role, s.obj.GetName())
	own, peer := names.own(s.role)
	main := s.secret(t, names.main)
	for name, keys := range map[string][]string{names.main: allKeys, own: s.own, peer: s.peer} {
		sec := s.secret(t, name)
		if !metav1.IsControlledBy(sec, s.obj) || sec.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue ||
			sec.Type != corev1.SecretTypeOpaque {
			t.Fatalf("Secret %s is not VolSync's for %s: %+v", name, s.obj.GetName(), sec.ObjectMeta)
		}
		if got := slices.Sorted(maps.Keys(sec.Data)); !slices.Equal(got, slices.Sorted(slices.Values(keys))) {
			t.Fatalf("Secret %s holds %v, want %v", name, got, keys)
		}
		for _, k := range keys {
			if !bytes.Equal(sec.Data[k], main.Data[k]) {
				t.Fatalf("key %s of Secret %s differs from the main Secret's", k, name)
			}
		}
	}
	checkPair(t, contract.Source, main.Data[contract.Source], main.Data[contract.SourcePub])
	checkPair(t, contract.Destination, main.Data[contract.Destination], main.Data[contract.DestinationPub])
	return main.Data
}

// TestGeneratedKeys: each side generates its Secrets once (main with both ed25519 pairs, the
// two halves derived from it), owned by the object; it mounts its own half and publishes the
// other; a changed half is restored; a changed main Secret is an Error saying to delete it,
// and once deleted new keys are generated.
func TestGeneratedKeys(t *testing.T) {
	for _, role := range []naming.Role{naming.Source, naming.Destination} {
		t.Run(string(role), func(t *testing.T) {
			ctx := lifecycle.Context(t)
			ns := h.Namespace(t, nil)
			s := startSide(t, ns, role, "app", nil)
			s.job(t)
			names := keySecretNames(role, "app")
			own, peer := names.own(role)
			lifecycle.Eventually(t, "status.rsync.sshKeys", func() error {
				if got := ptr.Deref(s.published(t), ""); got != peer {
					return fmt.Errorf("published %q, want %q", got, peer)
				}
				return nil
			})
			main := s.checkGenerated(t)

			// A changed or emptied half is put back as main says.
			for _, name := range []string{own, peer} {
				sec := s.secret(t, name)
				patch := client.MergeFrom(sec.DeepCopy())
				sec.Data[s.own[0]] = []byte("tampered")
				delete(sec.Data, contract.SourcePub)
				lifecycle.Must(t, h.Client.Patch(ctx, sec, patch))
			}
			h.Poke(t, s.obj)
			lifecycle.Eventually(t, "halves restored", func() error {
				for _, name := range []string{own, peer} {
					sec := s.secret(t, name)
					for k, v := range sec.Data {
						if !bytes.Equal(v, main[k]) {
							return fmt.Errorf("key %s of %s not restored", k, name)
						}
					}
					if len(sec.Data) != 3 {
						return fmt.Errorf("%s holds %d keys", name, len(sec.Data))
					}
				}
				return nil
			})
			h.WaitCondition(t, s.obj, v1alpha1.SynchronizingReasonSync, "") // restoring a half is no error

			// A broken main Secret is not repaired silently: the keys may have been copied.
			sec := s.secret(t, names.main)
			patch := client.MergeFrom(sec.DeepCopy())
			sec.Data[contract.SourcePub] = otherPub(t)
			lifecycle.Must(t, h.Client.Patch(ctx, sec, patch))
			h.Poke(t, s.obj)
			h.WaitError(t, s.obj, "generated Secret "+names.main+" was modified (keys source and source.pub are not a pair)")
			msg := lifecycle.Synchronizing(lifecycle.Common(s.obj)).Message
			if !strings.Contains(msg, "delete Secret "+names.main+" to get new keys") {
				t.Fatalf("the condition must say how to fix it: %s", msg)
			}
			noValueIn(t, msg, sec.Data)

			lifecycle.Must(t, h.Client.Delete(ctx, sec))
			lifecycle.Eventually(t, "new keys", func() error {
				fresh := &corev1.Secret{}
				if err := h.Get(ctx, ns, names.main, fresh); err != nil {
					return err
				}
				if fresh.UID == sec.UID {
					return errors.New("still the old main Secret")
				}
				if half := s.secret(t, own); !bytes.Equal(half.Data[contract.SourcePub], fresh.Data[contract.SourcePub]) {
					return errors.New("halves not derived from the new main Secret yet")
				}
				return nil
			})
			h.WaitCondition(t, s.obj, v1alpha1.SynchronizingReasonSync, "")
			if renewed := s.checkGenerated(t); bytes.Equal(renewed[contract.Source], main[contract.Source]) {
				t.Fatal("the keys were not renewed")
			}
		})
	}
}

// TestGeneratedKeysDifferPerObject: no two objects share generated keys.
func TestGeneratedKeysDifferPerObject(t *testing.T) {
	ns := h.Namespace(t, nil)
	a := startSide(t, ns, naming.Destination, "a", nil)
	b := startSide(t, ns, naming.Destination, "b", nil)
	a.job(t)
	b.job(t)
	ka, kb := a.checkGenerated(t), b.checkGenerated(t)
	for _, k := range allKeys {
		if bytes.Equal(ka[k], kb[k]) {
			t.Errorf("two destinations share key %s", k)
		}
	}
}

// validUserKeys creates a user's key Secret name for a side (the keys it needs), as a user
// copies it from the other side's published Secret.
func validUserKeys(t *testing.T, ns, name string, keys []string) map[string][]byte {
	t.Helper()
	data := subsetOf(generated(t), keys)
	lifecycle.Must(t, h.Client.Create(lifecycle.Context(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}))
	return data
}

// TestUserKeys: with the user's sshKeys the Job mounts that Secret, nothing is generated and
// nothing is published; the Secret is read live once per synchronization (an idle reconcile
// makes no request); a side that had generated keys stops publishing them.
func TestUserKeys(t *testing.T) {
	for _, role := range []naming.Role{naming.Source, naming.Destination} {
		t.Run(string(role), func(t *testing.T) {
			ns := h.Namespace(t, nil)
			own, _ := keysFor(role)
			validUserKeys(t, ns, "mine", own)
			s := startSide(t, ns, role, "app", func(o client.Object) { setSSHKeys(o, "mine") })
			s.job(t)
			checkJob(t, s)
			names := keySecretNames(role, "app")
			for _, name := range []string{names.main, names.src, names.dest} {
				h.Absent(t, ns, name, &corev1.Secret{}, "the user's sshKeys are used")
			}
			if p := s.published(t); p != nil {
				t.Fatalf("published %q with the user's keys", *p)
			}
			reads := []string{"secrets/mine"}
			if role == naming.Source {
				reads = append(reads, "persistentvolumeclaims/data")
			}
			h.IdleReconciles(t, s.obj, reads...)
		})
	}
	t.Run("switch from generated keys", func(t *testing.T) {
		ctx := lifecycle.Context(t)
		ns := h.Namespace(t, nil)
		validUserKeys(t, ns, "mine", sourceKeys)
		s := startSide(t, ns, naming.Source, "app", nil)
		s.job(t)
		lifecycle.Eventually(t, "generated keys published", func() error {
			if s.published(t) == nil {
				return errors.New("nothing published")
			}
			return nil
		})
		patch := client.MergeFrom(s.obj.DeepCopyObject().(client.Object))
		setSSHKeys(s.obj, "mine")
		lifecycle.Must(t, h.Client.Patch(ctx, s.obj, patch))
		lifecycle.Eventually(t, "nothing published", func() error {
			if p := s.published(t); p != nil {
				return fmt.Errorf("still published: %s", *p)
			}
			return nil
		})
		checkJob(t, s)
	})
}

// checkJob checks the side's Job once it is the Job of the current spec.
func checkJob(t *testing.T, s side) {
	t.Helper()
	job := h.FindJob(t, s.obj.GetNamespace(), h.JobName(s.role, s.obj.GetName()))
	mounted, _ := expectedKeys(s.obj)
	lifecycle.Eventually(t, "the Job of the current spec", func() error {
		if err := h.Get(lifecycle.Context(t), job.Namespace, job.Name, job); err != nil {
			return err
		}
		if v, _ := lifecycle.Volume(t, job, "/keys"); v.Secret == nil || v.Secret.SecretName != mounted {
			return fmt.Errorf("the Job mounts %s, want %s", v.Secret.SecretName, mounted)
		}
		return nil
	})
	switch o := s.obj.(type) {
	case *v1alpha1.ReplicationSource:
		checkSourceJob(t, o, job)
	case *v1alpha1.ReplicationDestination:
		checkDestinationJob(t, o, job)
	}
}

func setSSHKeys(obj client.Object, name string) {
	switch o := obj.(type) {
	case *v1alpha1.ReplicationSource:
		o.Spec.Rsync.SSHKeys = ptr.To(name)
	case *v1alpha1.ReplicationDestination:
		o.Spec.Rsync.SSHKeys = ptr.To(name)
	}
}

// TestUserKeyErrors: a user's sshKeys Secret that the mover could not use is an Error
// condition (and event) naming the Secret and the problem, never a key value, before
// anything is created; fixing the Secret lets the synchronization start.
func TestUserKeyErrors(t *testing.T) {
	t.Run("missing Secret", func(t *testing.T) {
		ns := h.Namespace(t, nil)
		s := startSide(t, ns, naming.Destination, "app", func(o client.Object) { setSSHKeys(o, "absent") })
		h.WaitError(t, s.obj, "invalid Secret: Secret absent not found (sshKeys)")
		h.NoneCreated(t, ns)
		// The user creates it: the next attempt goes on.
		validUserKeys(t, ns, "absent", destinationKeys)
		h.Poke(t, s.obj)
		s.job(t)
		checkJob(t, s)
	})
	for _, role := range []naming.Role{naming.Source, naming.Destination} {
		own, _ := keysFor(role)
		for _, tc := range keyBreakers(t, role) {
			if !tc.api {
				continue
			}
			t.Run(string(role)+"/"+tc.name, func(t *testing.T) {
				ns := h.Namespace(t, nil)
				data := subsetOf(generated(t), own)
				tc.edit(data)
				lifecycle.Must(t, h.Client.Create(lifecycle.Context(t), &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns}, Data: data}))
				s := startSide(t, ns, role, "app", func(o client.Object) { setSSHKeys(o, "bad") })
				h.WaitError(t, s.obj, "invalid Secret: Secret bad (sshKeys): "+tc.wants)
				noValueIn(t, lifecycle.Synchronizing(lifecycle.Common(s.obj)).Message, data)
				for _, notes := range h.EventsFor(t, ns, "app") {
					for _, n := range notes {
						noValueIn(t, n, data)
					}
				}
				h.NoneCreated(t, ns)
				if p := s.published(t); p != nil {
					t.Fatalf("published %q", *p)
				}
			})
		}
	}
}

// TestMissingAddress: a source without spec.rsync.address is an Error saying what to set,
// and nothing is created (no keys either).
func TestMissingAddress(t *testing.T) {
	ns := h.Namespace(t, nil)
	s := startSide(t, ns, naming.Source, "noaddr", func(o client.Object) {
		o.(*v1alpha1.ReplicationSource).Spec.Rsync.Address = nil
	})
	h.WaitError(t, s.obj, "spec.rsync.address is required")
	if msg := lifecycle.Synchronizing(lifecycle.Common(s.obj)).Message; !strings.Contains(msg, "set it to the destination's status.rsync.address") {
		t.Fatalf("the condition must say what to set: %s", msg)
	}
	h.NoneCreated(t, ns)
	secrets := &corev1.SecretList{}
	lifecycle.Must(t, h.Client.List(lifecycle.Context(t), secrets, client.InNamespace(ns)))
	if len(secrets.Items) != 0 {
		t.Fatalf("%d Secrets made for a source without address", len(secrets.Items))
	}
}
