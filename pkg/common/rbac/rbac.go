package rbac

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
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
// With user set (non-empty) the ServiceAccount must already exist; it is read through users
// (the user's objects, read once per synchronization), nothing is created, and errors wrap
// ErrServiceAccountNotFound when it is missing.
//
// Otherwise it ensures the ServiceAccount volsync-<src|dst>-<obj> (the reference's name),
// controller-owned by owner and labelled as created by VolSync, with
// automountServiceAccountToken=false: movers only move data and never talk to the API server,
// so they get no token and no Role. VolSync creates no Role or RoleBinding for it: a Role
// without rules grants nothing and would cost two objects and two requests per replication. An
// admin who must grant a mover something (for example `use` of a PodSecurityPolicy-like or SCC
// policy) binds it to this predictable ServiceAccount name. A Role and RoleBinding of that name
// left by an earlier version stay untouched and go with their owner.
//
// c must read ServiceAccounts from the controller's cache (clients.Split): an already current
// ServiceAccount costs no request. An object of the same name not controlled by owner yields
// an error wrapping ErrNotOwned. Create and patch races surface as errors wrapping the API's
// AlreadyExists/Conflict errors (apierrors.IsAlreadyExists and apierrors.IsConflict see
// through the wrapping) so the caller can requeue without logging.
//
// WithPullSecrets adds the controller's image pull Secrets to a VolSync-managed ServiceAccount
// (see copyPullSecrets); a user's ServiceAccount is left as the user made it.
func MoverServiceAccount(ctx context.Context, c client.Client, users client.Reader, owner client.Object, role naming.Role, user *string, opts ...Option) (string, error) {
	ns := owner.GetNamespace()
	if user != nil && *user != "" {
		sa := &corev1.ServiceAccount{}
		err := users.Get(ctx, client.ObjectKey{Namespace: ns, Name: *user}, sa)
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
	pullRefs, missing, err := copyPullSecrets(ctx, c, users, owner, o.pull)
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
	return name, nil
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
	if labels[v1alpha1.CreatedByLabel] == v1alpha1.CreatedByValue {
		return labels
	}
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1alpha1.CreatedByLabel] = v1alpha1.CreatedByValue
	return labels
}

func kindOf(obj client.Object) string {
	if _, ok := obj.(*corev1.ServiceAccount); ok {
		return "ServiceAccount"
	}
	return fmt.Sprintf("%T", obj)
}
