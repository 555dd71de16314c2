package rbac

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	volsyncv1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

var (
	// ErrServiceAccountNotFound is returned when the user-supplied mover ServiceAccount does
	// not exist in the object's namespace.
	ErrServiceAccountNotFound = errors.New("mover ServiceAccount not found")
	// ErrNotOwned is returned when an object with the name VolSync would use already exists
	// and is not controlled by the replication object. VolSync never adopts such objects: they
	// may belong to the user or to another replication.
	ErrNotOwned = errors.New("object exists and is not controlled by this replication object")
)

// MoverServiceAccount returns the name of the ServiceAccount the mover pod runs as.
//
// With user set (non-empty) the ServiceAccount must already exist; nothing is created and
// errors wrap ErrServiceAccountNotFound when it is missing.
//
// Otherwise it ensures the ServiceAccount volsync-<src|dst>-<obj>, controller-owned by owner
// and labelled as created by VolSync, with automountServiceAccountToken=false: movers only move
// data and never talk to the API server, so they get no token. A Role and a RoleBinding of
// the same name are ensured too. The Role is created with no rules (least privilege) and
// VolSync never edits its rules afterwards: the pair exists so cluster admins can grant extra
// policy to a predictable name (for example `use` of a PodSecurity or SCC policy), and
// objects carried over from the reference implementation keep what they hold.
//
// Objects that are already as desired are not written. An object of the same name not
// controlled by owner yields an error wrapping ErrNotOwned. Create and patch races surface as
// errors wrapping the API's AlreadyExists/Conflict errors (apierrors.IsAlreadyExists and
// apierrors.IsConflict see through the wrapping) so the caller can requeue without logging.
//
// WithPullSecrets adds the controller's image pull Secrets to a VolSync-managed ServiceAccount
// (see copyPullSecrets); a user's ServiceAccount is left as the user made it.
func MoverServiceAccount(ctx context.Context, c client.Client, owner client.Object, role naming.Role, user *string, opts ...Option) (string, error) {
	ns := owner.GetNamespace()
	if user != nil && *user != "" {
		sa := &corev1.ServiceAccount{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: *user}, sa)
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("%w: ServiceAccount %s/%s named in moverServiceAccount does not exist; create it or remove the field to let VolSync manage one",
				ErrServiceAccountNotFound, ns, *user)
		}
		if err != nil {
			return "", fmt.Errorf("reading ServiceAccount %s/%s: %w", ns, *user, err)
		}
		return *user, nil
	}

	var o options
	for _, opt := range opts {
		opt(&o)
	}
	pullRefs, missing, err := copyPullSecrets(ctx, c, owner, o.pull)
	if err != nil {
		return "", err
	}
	name := naming.MoverServiceAccount(role, owner.GetName())
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	warn := false
	if err := ensure(ctx, c, owner, sa, func() {
		sa.AutomountServiceAccountToken = ptr.To(false)
		sa.ImagePullSecrets = withPullSecretRefs(sa.ImagePullSecrets, pullRefs)
		warn = missingChanged(sa, missing) && len(missing) > 0
	}); err != nil {
		return "", err
	}
	if warn {
		warnMissing(o.events, o.pull, missing)
	}
	r := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := ensure(ctx, c, owner, r, func() {}); err != nil {
		return "", err
	}
	if err := ensureRoleBinding(ctx, c, owner, name); err != nil {
		return "", err
	}
	return name, nil
}

// ensureRoleBinding ensures the RoleBinding granting the Role to the ServiceAccount. roleRef is
// immutable, so an owned binding pointing elsewhere is deleted; the next call recreates it.
func ensureRoleBinding(ctx context.Context, c client.Client, owner client.Object, name string) error {
	want := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: owner.GetNamespace(), Name: name}}
	err := ensure(ctx, c, owner, rb, func() {
		if rb.CreationTimestamp.IsZero() {
			rb.RoleRef = want
		}
		rb.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: owner.GetNamespace()}}
	})
	if err != nil {
		return err
	}
	if rb.RoleRef == want {
		return nil
	}
	log.FromContext(ctx).Info("Deleting RoleBinding with a different roleRef", "roleBinding", client.ObjectKeyFromObject(rb))
	if err := c.Delete(ctx, rb, client.Preconditions{UID: &rb.UID, ResourceVersion: &rb.ResourceVersion}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting RoleBinding %s/%s: %w", rb.Namespace, name, err)
	}
	rb = &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: owner.GetNamespace(), Name: name},
		RoleRef:    want,
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: owner.GetNamespace()}},
	}
	rb.SetLabels(withCreatedBy(nil))
	if err := controllerutil.SetControllerReference(owner, rb, c.Scheme()); err != nil {
		return fmt.Errorf("setting owner of RoleBinding %s/%s: %w", rb.Namespace, name, err)
	}
	log.FromContext(ctx).Info("Creating RoleBinding", "name", name, "namespace", rb.Namespace)
	if err := c.Create(ctx, rb); err != nil {
		// AlreadyExists here means the deletion is still in progress: the caller requeues.
		return fmt.Errorf("recreating RoleBinding %s/%s: %w", rb.Namespace, name, err)
	}
	return nil
}

// ensure creates obj (name and namespace set) after applying mutate, or patches the existing
// object when mutate changes it. On return obj holds the object as stored.
func ensure(ctx context.Context, c client.Client, owner client.Object, obj client.Object, mutate func()) error {
	key := client.ObjectKeyFromObject(obj)
	kind := kindOf(obj)
	err := c.Get(ctx, key, obj)
	switch {
	case apierrors.IsNotFound(err):
		mutate()
		obj.SetLabels(withCreatedBy(obj.GetLabels()))
		if err := controllerutil.SetControllerReference(owner, obj, c.Scheme()); err != nil {
			return fmt.Errorf("setting owner of %s %s: %w", kind, key, err)
		}
		log.FromContext(ctx).Info("Creating "+kind, "name", key.Name, "namespace", key.Namespace)
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", kind, key, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading %s %s: %w", kind, key, err)
	}
	if !metav1.IsControlledBy(obj, owner) {
		return fmt.Errorf("%w: %s %s; rename or delete it so VolSync can create its own", ErrNotOwned, kind, key)
	}
	orig := obj.DeepCopyObject().(client.Object)
	mutate()
	obj.SetLabels(withCreatedBy(obj.GetLabels()))
	if equality.Semantic.DeepEqual(orig, obj) {
		return nil
	}
	log.FromContext(ctx).Info("Updating "+kind, "name", key.Name, "namespace", key.Namespace)
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("updating %s %s: %w", kind, key, err)
	}
	return nil
}

func withCreatedBy(labels map[string]string) map[string]string {
	if labels[volsyncv1alpha1.CreatedByLabel] == volsyncv1alpha1.CreatedByValue {
		return labels
	}
	if labels == nil {
		labels = map[string]string{}
	}
	labels[volsyncv1alpha1.CreatedByLabel] = volsyncv1alpha1.CreatedByValue
	return labels
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *corev1.ServiceAccount:
		return "ServiceAccount"
	case *rbacv1.Role:
		return "Role"
	case *rbacv1.RoleBinding:
		return "RoleBinding"
	}
	return fmt.Sprintf("%T", obj)
}
