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

	volsyncv1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

func TestMoverServiceAccountCreatesOwnedObjects(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	owner := newOwner(ctx, t, ns, "app")
	c := &countingClient{Client: env.Client}

	name, err := MoverServiceAccount(ctx, c, owner, naming.Source, nil)
	if err != nil {
		t.Fatalf("MoverServiceAccount: %v", err)
	}
	if name != "volsync-src-app" {
		t.Fatalf("name = %q, want volsync-src-app", name)
	}
	if got := c.Writes(); got != 3 {
		t.Errorf("first call made %d writes, want 3 creates", got)
	}

	key := client.ObjectKey{Namespace: ns, Name: name}
	sa := &corev1.ServiceAccount{}
	r := &rbacv1.Role{}
	rb := &rbacv1.RoleBinding{}
	for _, o := range []client.Object{sa, r, rb} {
		if err := env.Client.Get(ctx, key, o); err != nil {
			t.Fatalf("reading %T: %v", o, err)
		}
		if !metav1.IsControlledBy(o, owner) {
			t.Errorf("%T not controlled by owner: %+v", o, o.GetOwnerReferences())
		}
		if o.GetLabels()[volsyncv1alpha1.CreatedByLabel] != volsyncv1alpha1.CreatedByValue {
			t.Errorf("%T labels = %v, want created-by", o, o.GetLabels())
		}
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken = %v, want false", sa.AutomountServiceAccountToken)
	}
	if len(r.Rules) != 0 {
		t.Errorf("Role rules = %v, want none", r.Rules)
	}
	wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}
	if rb.RoleRef != wantRef {
		t.Errorf("roleRef = %+v, want %+v", rb.RoleRef, wantRef)
	}
	if len(rb.Subjects) != 1 || rb.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: name, Namespace: ns}) {
		t.Errorf("subjects = %+v", rb.Subjects)
	}

	// Quiet at rest: a second call writes nothing.
	objs := []client.Object{sa, r, rb}
	c.Reset()
	if _, err := MoverServiceAccount(ctx, c, owner, naming.Source, ptr.To("")); err != nil {
		t.Fatalf("second MoverServiceAccount: %v", err)
	}
	if got := c.Writes(); got != 0 {
		t.Errorf("second call made %d writes, want 0", got)
	}
	for i, o := range []client.Object{&corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}} {
		if err := env.Client.Get(ctx, key, o); err != nil {
			t.Fatal(err)
		}
		if rv := objs[i].GetResourceVersion(); rv != o.GetResourceVersion() {
			t.Errorf("%T resourceVersion changed %s -> %s", o, rv, o.GetResourceVersion())
		}
	}
}

func TestMoverServiceAccountRepairsDrift(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	owner := newOwner(ctx, t, ns, "app")
	name, err := MoverServiceAccount(ctx, env.Client, owner, naming.Destination, nil)
	if err != nil {
		t.Fatal(err)
	}
	if name != "volsync-dst-app" {
		t.Fatalf("name = %q", name)
	}
	key := client.ObjectKey{Namespace: ns, Name: name}

	// A user turned the token back on and dropped our label; an admin added a rule and
	// an image pull secret. VolSync restores its fields and keeps theirs.
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
	r := &rbacv1.Role{}
	if err := env.Client.Get(ctx, key, r); err != nil {
		t.Fatal(err)
	}
	r.Rules = []rbacv1.PolicyRule{{APIGroups: []string{"policy"}, Resources: []string{"podsecuritypolicies"}, Verbs: []string{"use"}}}
	if err := env.Client.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	// A RoleBinding pointing at another Role is replaced (roleRef is immutable).
	rb := &rbacv1.RoleBinding{}
	if err := env.Client.Get(ctx, key, rb); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, rb); err != nil {
		t.Fatal(err)
	}
	rb.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: rb.OwnerReferences}
	rb.RoleRef.Name = "other"
	if err := env.Client.Create(ctx, rb); err != nil {
		t.Fatal(err)
	}

	if _, err := MoverServiceAccount(ctx, env.Client, owner, naming.Destination, nil); err != nil {
		t.Fatalf("MoverServiceAccount: %v", err)
	}
	if err := env.Client.Get(ctx, key, sa); err != nil {
		t.Fatal(err)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("automount = %v, want false", sa.AutomountServiceAccountToken)
	}
	if sa.Labels["team"] != "a" || sa.Labels[volsyncv1alpha1.CreatedByLabel] != volsyncv1alpha1.CreatedByValue {
		t.Errorf("labels = %v", sa.Labels)
	}
	if len(sa.ImagePullSecrets) != 1 {
		t.Errorf("imagePullSecrets = %v, want kept", sa.ImagePullSecrets)
	}
	if err := env.Client.Get(ctx, key, r); err != nil {
		t.Fatal(err)
	}
	if len(r.Rules) != 1 {
		t.Errorf("admin rule removed: %v", r.Rules)
	}
	if err := env.Client.Get(ctx, key, rb); err != nil {
		t.Fatal(err)
	}
	if rb.RoleRef.Name != name || !metav1.IsControlledBy(rb, owner) {
		t.Errorf("RoleBinding not recreated: %+v", rb)
	}
}

func TestMoverServiceAccountUserSupplied(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t)
	owner := newOwner(ctx, t, ns, "app")
	c := &countingClient{Client: env.Client}

	_, err := MoverServiceAccount(ctx, c, owner, naming.Source, ptr.To("mine"))
	if !errors.Is(err, ErrServiceAccountNotFound) {
		t.Fatalf("err = %v, want ErrServiceAccountNotFound", err)
	}
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mine"}}); err != nil {
		t.Fatal(err)
	}
	name, err := MoverServiceAccount(ctx, c, owner, naming.Source, ptr.To("mine"))
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
	if _, err := MoverServiceAccount(ctx, env.Client, owner, naming.Source, nil); !errors.Is(err, ErrNotOwned) {
		t.Fatalf("err = %v, want ErrNotOwned", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), foreign); err != nil {
		t.Fatal(err)
	}
	if len(foreign.OwnerReferences) != 0 || len(foreign.Labels) != 0 {
		t.Errorf("foreign ServiceAccount modified: %+v", foreign.ObjectMeta)
	}

	// Role controlled by another object.
	if _, err := MoverServiceAccount(ctx, env.Client, other, naming.Destination, nil); err != nil {
		t.Fatal(err)
	}
	r := &rbacv1.Role{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "volsync-dst-other"}, r); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "volsync-dst-other"}}); err != nil {
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
	if _, err := MoverServiceAccount(ctx, env.Client, imposter, naming.Destination, nil); !errors.Is(err, ErrNotOwned) {
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
	if _, err := MoverServiceAccount(ctx, env.Client, owner, naming.Source, nil); err != nil {
		t.Fatal(err)
	}
	_, err := MoverServiceAccount(ctx, staleClient{env.Client}, owner, naming.Source, nil)
	if !apierrors.IsAlreadyExists(err) {
		t.Fatalf("err = %v, want one that apierrors.IsAlreadyExists recognises", err)
	}
}
