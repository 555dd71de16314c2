package rbac

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kevents "k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

const pollEvery = 100 * time.Millisecond

func TestParsePullSecrets(t *testing.T) {
	got := ParsePullSecrets("volsync-system", " a,,b ,a,")
	want := PullSecrets{Namespace: "volsync-system", Names: []string{"a", "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParsePullSecrets = %+v, want %+v", got, want)
	}
	if got := ParsePullSecrets("ns", ""); len(got.Names) != 0 {
		t.Fatalf("empty flag gave %+v", got)
	}
}

func TestPullSecretName(t *testing.T) {
	// crc32.ChecksumIEEE("regcred"), zero-padded as the reference names its copies.
	if got, want := PullSecretName("regcred"), "volsync-pull-b903f5b8"; got != want {
		t.Fatalf("PullSecretName = %q, want %q", got, want)
	}
}

func TestWithPullSecretRefsKeepsOthers(t *testing.T) {
	have := []corev1.LocalObjectReference{{Name: "admin-added"}, {Name: "volsync-pull-00000001"}}
	got := withPullSecretRefs(have, []corev1.LocalObjectReference{{Name: "volsync-pull-00000002"}})
	want := []corev1.LocalObjectReference{{Name: "admin-added"}, {Name: "volsync-pull-00000002"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("withPullSecretRefs = %v, want %v", got, want)
	}
	if have[1].Name != "volsync-pull-00000001" {
		t.Fatalf("input modified: %v", have)
	}
}

// apiRecorder records events through the real events.k8s.io API and counts the calls.
type apiRecorder struct {
	kevents.EventRecorder
	mu    sync.Mutex
	calls []string
}

func (r *apiRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.mu.Lock()
	r.calls = append(r.calls, reason)
	r.mu.Unlock()
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

func (r *apiRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func newAPIRecorder(ctx context.Context, t *testing.T) *apiRecorder {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	b := kevents.NewBroadcaster(&kevents.EventSinkImpl{Interface: cs.EventsV1()})
	b.StartRecordingToSink(ctx.Done())
	t.Cleanup(b.Shutdown)
	return &apiRecorder{EventRecorder: b.NewRecorder(env.Scheme, "volsync-test")}
}

func pullSecret(ctx context.Context, t *testing.T, ns, name, data string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(data)},
	}
	if err := env.Client.Create(ctx, s); err != nil {
		t.Fatalf("creating pull Secret: %v", err)
	}
	return s
}

// TestPullSecretsCopiedToMoverNamespace: the copy has the reference's name, the original's
// type and data, a non-controller reference to every owner and the created-by label; the
// ServiceAccount lists it; nothing is written at rest; the data follows the original.
func TestPullSecretsCopiedToMoverNamespace(t *testing.T) {
	ctx := testContext(t)
	ctrlNS := newNamespace(ctx, t)
	ns := newNamespace(ctx, t)
	orig := pullSecret(ctx, t, ctrlNS, "regcred", `{"auths":{}}`)
	pull := PullSecrets{Namespace: ctrlNS, Names: []string{"regcred"}}
	owner := newOwner(ctx, t, ns, "app")
	c := &countingClient{Client: env.Client}

	name, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, nil, WithPullSecrets(pull, events.Recorder{}))
	if err != nil {
		t.Fatalf("MoverServiceAccount: %v", err)
	}
	copyName := PullSecretName("regcred")
	cp := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: copyName}, cp); err != nil {
		t.Fatalf("reading the copy: %v", err)
	}
	if cp.Type != corev1.SecretTypeDockerConfigJson || !reflect.DeepEqual(cp.Data, orig.Data) ||
		cp.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
		t.Fatalf("copy = %+v", cp)
	}
	if refs := cp.OwnerReferences; len(refs) != 1 || refs[0].UID != owner.GetUID() || (refs[0].Controller != nil && *refs[0].Controller) {
		t.Fatalf("copy ownerReferences = %+v, want one non-controller reference to the owner", refs)
	}
	sa := &corev1.ServiceAccount{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sa); err != nil {
		t.Fatal(err)
	}
	if want := []corev1.LocalObjectReference{{Name: copyName}}; !reflect.DeepEqual(sa.ImagePullSecrets, want) {
		t.Fatalf("imagePullSecrets = %v, want %v", sa.ImagePullSecrets, want)
	}

	c.Reset()
	if _, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, nil, WithPullSecrets(pull, events.Recorder{})); err != nil {
		t.Fatal(err)
	}
	if got := c.Writes(); got != 0 {
		t.Fatalf("a call at rest made %d writes, want 0", got)
	}

	// A second replication in the namespace shares the copy; a rotated original is followed.
	other := newOwner(ctx, t, ns, "other")
	orig.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{"r":{}}}`)
	if err := env.Client.Update(ctx, orig); err != nil {
		t.Fatal(err)
	}
	if _, err := MoverServiceAccount(ctx, c, env.Client, other, naming.Destination, nil, WithPullSecrets(pull, events.Recorder{})); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: copyName}, cp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cp.Data, orig.Data) || len(cp.OwnerReferences) != 2 {
		t.Fatalf("copy after rotation and a second owner: data %q owners %+v", cp.Data, cp.OwnerReferences)
	}
}

// TestUserServiceAccountGetsNoPullSecrets: a user's ServiceAccount is the user's business.
func TestUserServiceAccountGetsNoPullSecrets(t *testing.T) {
	ctx := testContext(t)
	ctrlNS := newNamespace(ctx, t)
	ns := newNamespace(ctx, t)
	pullSecret(ctx, t, ctrlNS, "regcred", `{}`)
	owner := newOwner(ctx, t, ns, "app")
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mine"}}); err != nil {
		t.Fatal(err)
	}
	user := "mine"
	pull := PullSecrets{Namespace: ctrlNS, Names: []string{"regcred"}}
	if _, err := MoverServiceAccount(ctx, env.Client, env.Client, owner, naming.Source, &user, WithPullSecrets(pull, events.Recorder{})); err != nil {
		t.Fatal(err)
	}
	list := &corev1.SecretList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		if s.Name == PullSecretName("regcred") {
			t.Fatalf("pull Secret copied for a user-supplied ServiceAccount")
		}
	}
}

// TestMissingPullSecretWarnsOnce: a missing original does not block the mover; the user is
// told once with a Warning event (accepted by the real events API), not on every reconcile,
// and the warning is recorded on the ServiceAccount.
func TestMissingPullSecretWarnsOnce(t *testing.T) {
	ctx := testContext(t)
	ctrlNS := newNamespace(ctx, t)
	ns := newNamespace(ctx, t)
	pullSecret(ctx, t, ctrlNS, "present", `{}`)
	owner := newOwner(ctx, t, ns, "app")
	rec := newAPIRecorder(ctx, t)
	pull := PullSecrets{Namespace: ctrlNS, Names: []string{"absent", "present"}}
	c := &countingClient{Client: env.Client}

	name, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, nil, WithPullSecrets(pull, events.For(rec, owner)))
	if err != nil {
		t.Fatalf("a missing pull Secret must not stop the mover: %v", err)
	}
	sa := &corev1.ServiceAccount{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sa); err != nil {
		t.Fatal(err)
	}
	if want := []corev1.LocalObjectReference{{Name: PullSecretName("present")}}; !reflect.DeepEqual(sa.ImagePullSecrets, want) {
		t.Fatalf("imagePullSecrets = %v, want %v", sa.ImagePullSecrets, want)
	}
	if got := sa.Annotations[MissingPullSecretsAnnotation]; got != "absent" {
		t.Fatalf("%s = %q, want absent", MissingPullSecretsAnnotation, got)
	}
	waitForEvent(ctx, t, ns, reasonPullSecretMissing)

	c.Reset()
	for range 3 {
		if _, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, nil, WithPullSecrets(pull, events.For(rec, owner))); err != nil {
			t.Fatal(err)
		}
	}
	if rec.count() != 1 || c.Writes() != 0 {
		t.Fatalf("at rest: %d events (want 1 in all), %d writes (want 0)", rec.count(), c.Writes())
	}

	// Once the original exists, it is copied and the warning record goes.
	pullSecret(ctx, t, ctrlNS, "absent", `{}`)
	if _, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, nil, WithPullSecrets(pull, events.For(rec, owner))); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sa); err != nil {
		t.Fatal(err)
	}
	if _, ok := sa.Annotations[MissingPullSecretsAnnotation]; ok || len(sa.ImagePullSecrets) != 2 {
		t.Fatalf("after the original appeared: annotations %v, imagePullSecrets %v", sa.Annotations, sa.ImagePullSecrets)
	}
}

// waitForEvent polls the events.k8s.io API until an event with reason exists in ns.
func waitForEvent(ctx context.Context, t *testing.T, ns, reason string) {
	t.Helper()
	var seen []string
	for ctx.Err() == nil {
		list := &eventsv1.EventList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		seen = seen[:0]
		for _, e := range list.Items {
			seen = append(seen, e.Reason)
		}
		if slices.Contains(seen, reason) {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
	t.Fatalf("no %s event in %s (seen %v): %v", reason, ns, seen, fmt.Errorf("%w", ctx.Err()))
}
