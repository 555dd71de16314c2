package ownership

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Relinquish hands obj over to the user: it drops owner's ownerReference and owner's cleanup
// label (created-by stays, it is still true). retry is true when obj changed under us and must
// be looked at again.
func Relinquish(ctx context.Context, c client.Client, owner, obj client.Object) (retry bool, err error) {
	return patch(ctx, c, obj, func(o client.Object) bool {
		changed := removeOwnerRef(o, owner)
		if labels := o.GetLabels(); labels[v1alpha1.CleanupLabel] == string(owner.GetUID()) {
			delete(labels, v1alpha1.CleanupLabel)
			o.SetLabels(labels)
			changed = true
		}
		if changed {
			log.FromContext(ctx).Info("Relinquishing object", "kind", KindOf(c, obj), "name", obj.GetName())
		}
		return changed
	})
}

// DropOwnerRef removes owner's ownerReference from obj.
func DropOwnerRef(ctx context.Context, c client.Client, owner, obj client.Object) (retry bool, err error) {
	return patch(ctx, c, obj, func(o client.Object) bool { return removeOwnerRef(o, owner) })
}

// patch applies mutate and sends the change, if any, as a merge patch guarded by the
// resourceVersion (ownerReferences is a list that a merge patch replaces as a whole).
func patch(ctx context.Context, c client.Client, obj client.Object, mutate func(client.Object) bool) (retry bool, err error) {
	base, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return false, fmt.Errorf("copying %s", obj.GetName())
	}
	if !mutate(obj) {
		return false, nil
	}
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("updating %s %s: %w", KindOf(c, obj), obj.GetName(), err)
	}
	return false, nil
}

// removeOwnerRef removes every ownerReference to owner from obj.
func removeOwnerRef(obj, owner client.Object) bool {
	refs := obj.GetOwnerReferences()
	kept := make([]metav1.OwnerReference, 0, len(refs))
	for _, r := range refs {
		if r.UID != owner.GetUID() {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(refs) {
		return false
	}
	obj.SetOwnerReferences(kept)
	return true
}

// HasOtherOwners reports whether obj has an ownerReference to something else than owner.
func HasOtherOwners(obj, owner client.Object) bool {
	for _, r := range obj.GetOwnerReferences() {
		if r.UID != owner.GetUID() {
			return true
		}
	}
	return false
}

// KindOf names obj's kind for logs and messages.
func KindOf(c client.Client, obj client.Object) string {
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return fmt.Sprintf("%T", obj)
	}
	return gvk.Kind
}
