package rbac

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

func TestMoverServiceAccountCreatesOwnedObjects(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	owner := newOwner(ctx, t, ns, "app")
	c := &countingClient{Client: env.Client}

	name, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, nil)
	if err != nil {
		t.Fatalf("MoverServiceAccount: %v", err)
	}
	if name != "volsync-src-app" {
		t.Fatalf("name = %q, want volsync-src-app", name)
	}
	if got := c.Writes(); got != 1 {
		t.Errorf("first call made %d writes, want 1 create (the ServiceAccount)", got)
	}

	key := client.ObjectKey{Namespace: ns, Name: name}
	sa := &corev1.ServiceAccount{}
	if err := env.Client.Get(ctx, key, sa); err != nil {
		t.Fatalf("reading ServiceAccount: %v", err)
	}
	if !metav1.IsControlledBy(sa, owner) {
		t.Errorf("ServiceAccount not controlled by owner: %+v", sa.GetOwnerReferences())
	}
	if sa.GetLabels()[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
		t.Errorf("ServiceAccount labels = %v, want created-by", sa.GetLabels())
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken = %v, want false", sa.AutomountServiceAccountToken)
	}
	// No object that does nothing: a Role without rules and its binding grant nothing.
	for _, o := range []client.Object{&rbacv1.Role{}, &rbacv1.RoleBinding{}} {
		if err := env.Client.Get(ctx, key, o); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s: %v, want none", o, key, err)
		}
	}

	// Quiet at rest: a second call writes nothing.
	c.Reset()
	if _, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, ptr.To("")); err != nil {
		t.Fatalf("second MoverServiceAccount: %v", err)
	}
	if got := c.Writes(); got != 0 {
		t.Errorf("second call made %d writes, want 0", got)
	}
	now := &corev1.ServiceAccount{}
	if err := env.Client.Get(ctx, key, now); err != nil {
		t.Fatal(err)
	}
	if now.ResourceVersion != sa.ResourceVersion {
		t.Errorf("ServiceAccount resourceVersion changed %s -> %s", sa.ResourceVersion, now.ResourceVersion)
	}
}

func TestMoverServiceAccountRepairsDrift(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	owner := newOwner(ctx, t, ns, "app")
	name, err := MoverServiceAccount(ctx, env.Client, env.Client, owner, naming.Destination, nil)
	if err != nil {
		t.Fatal(err)
	}
	if name != "volsync-dst-app" {
		t.Fatalf("name = %q", name)
	}
	key := client.ObjectKey{Namespace: ns, Name: name}

	// A user turned the token back on and dropped our label; an admin added an image pull
	// secret. VolSync restores its fields and keeps theirs.
	sa := &corev1.ServiceAccount{}
	if err := env.Client.Get(ctx, key, sa); err != nil {
		t.Fatal(err)
	}
	sa.AutomountServiceAccountToken = ptr.To(true)
	sa.Labels = map[string]string{"team": "a"}
	sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
	if err := env.Client.Update(ctx, sa); err != nil {
		t.Fatal(err)
	}
	if _, err := MoverServiceAccount(ctx, env.Client, env.Client, owner, naming.Destination, nil); err != nil {
		t.Fatalf("MoverServiceAccount: %v", err)
	}
	if err := env.Client.Get(ctx, key, sa); err != nil {
		t.Fatal(err)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("automount = %v, want false", sa.AutomountServiceAccountToken)
	}
	if sa.Labels["team"] != "a" || sa.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
		t.Errorf("labels = %v", sa.Labels)
	}
	if len(sa.ImagePullSecrets) != 1 {
		t.Errorf("imagePullSecrets = %v, want kept", sa.ImagePullSecrets)
	}
}

func TestMoverServiceAccountUserSupplied(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	owner := newOwner(ctx, t, ns, "app")
	c := &countingClient{Client: env.Client}

	_, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, ptr.To("mine"))
	if !errors.Is(err, ErrServiceAccountNotFound) {
		t.Fatalf("err = %v, want ErrServiceAccountNotFound", err)
	}
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mine"}}); err != nil {
		t.Fatal(err)
	}
	name, err := MoverServiceAccount(ctx, c, env.Client, owner, naming.Source, ptr.To("mine"))
	if err != nil || name != "mine" {
		t.Fatalf("MoverServiceAccount = %q, %v", name, err)
	}
	if got := c.Writes(); got != 0 {
		t.Errorf("user-supplied account made %d writes", got)
	}
	err = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "volsync-src-app"}, &corev1.ServiceAccount{})
	if err == nil {
		t.Error("VolSync ServiceAccount created although the user supplied one")
	}
}

func TestMoverServiceAccountNeverAdopts(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	owner := newOwner(ctx, t, ns, "app")
	other := newOwner(ctx, t, ns, "other")

	// Unowned ServiceAccount.
	foreign := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "volsync-src-app"}}
	if err := env.Client.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	if _, err := MoverServiceAccount(ctx, env.Client, env.Client, owner, naming.Source, nil); !errors.Is(err, ErrNotOwned) {
		t.Fatalf("err = %v, want ErrNotOwned", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), foreign); err != nil {
		t.Fatal(err)
	}
	if len(foreign.OwnerReferences) != 0 || len(foreign.Labels) != 0 {
		t.Errorf("foreign ServiceAccount modified: %+v", foreign.ObjectMeta)
	}

	// Objects controlled by a previous object of the same name are not adopted either.
	if _, err := MoverServiceAccount(ctx, env.Client, env.Client, other, naming.Destination, nil); err != nil {
		t.Fatal(err)
	}
	// Same name from a different owner: "other" is the owner's name, so re-owning fails.
	imposter := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other"}}
	if err := env.Client.Delete(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, imposter); err != nil {
		t.Fatal(err)
	}
	if _, err := MoverServiceAccount(ctx, env.Client, env.Client, imposter, naming.Destination, nil); !errors.Is(err, ErrNotOwned) {
		t.Fatalf("err = %v, want ErrNotOwned for objects controlled by a previous object of the same name", err)
	}
}

// staleClient answers every Get with NotFound, as a cache that has not seen the object yet.
type staleClient struct{ client.Client }

func (staleClient) Get(_ context.Context, key client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
	return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
}

func TestMoverServiceAccountCreateRace(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	owner := newOwner(ctx, t, ns, "app")
	if _, err := MoverServiceAccount(ctx, env.Client, env.Client, owner, naming.Source, nil); err != nil {
		t.Fatal(err)
	}
	_, err := MoverServiceAccount(ctx, staleClient{env.Client}, env.Client, owner, naming.Source, nil)
	if !apierrors.IsAlreadyExists(err) {
		t.Fatalf("err = %v, want one that apierrors.IsAlreadyExists recognises", err)
	}
}
