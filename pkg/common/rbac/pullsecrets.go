package rbac

import (
	"context"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
)

const (
	// pullSecretPrefix starts the name of a mover namespace's copy of a pull Secret (the
	// reference implementation's names, so existing copies are reused).
	pullSecretPrefix = "volsync-pull-"
	// MissingPullSecretsAnnotation on a mover ServiceAccount lists the configured pull Secrets
	// whose original was missing at the last reconcile. It makes the Warning event fire once
	// per change instead of on every reconcile.
	MissingPullSecretsAnnotation = "volsync.backube/missing-pull-secrets"
	// reasonPullSecretMissing is the Warning event's reason.
	reasonPullSecretMissing = "MoverImagePullSecretMissing"
	// actionCopyPullSecret is the Warning event's action.
	actionCopyPullSecret = "CopyImagePullSecret"
)

// PullSecrets are the controller's image pull Secrets (--mover-image-pull-secrets), copied
// into each mover namespace for the VolSync-managed mover ServiceAccounts.
type PullSecrets struct {
	// Namespace holds the originals: the controller's own namespace (VOLSYNC_NAMESPACE).
	Namespace string
	// Names of the originals.
	Names []string
}

// ParsePullSecrets reads the comma-separated flag value; blanks and repeats are dropped.
func ParsePullSecrets(namespace, names string) PullSecrets {
	p := PullSecrets{Namespace: namespace}
	for n := range strings.SplitSeq(names, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(p.Names, n) {
			p.Names = append(p.Names, n)
		}
	}
	return p
}

// PullSecretName is the name of the mover namespace's copy of the pull Secret orig.
func PullSecretName(orig string) string {
	return fmt.Sprintf("%s%08x", pullSecretPrefix, crc32.ChecksumIEEE([]byte(orig)))
}

// Option changes what MoverServiceAccount does.
type Option func(*options)

type options struct {
	pull   PullSecrets
	events events.Recorder
}

// WithPullSecrets makes MoverServiceAccount copy the pull Secrets into the owner's namespace
// and list the copies in the ServiceAccount's imagePullSecrets; ev receives a Warning when an
// original is missing.
func WithPullSecrets(p PullSecrets, ev events.Recorder) Option {
	return func(o *options) { o.pull, o.events = p, ev }
}

// copyPullSecrets ensures the copy of every original pull Secret in the owner's namespace and
// returns the references to list in the ServiceAccount and the originals that are missing.
// A copy is shared by every replication object of the namespace: each adds a non-controller
// ownerReference, so the garbage collector deletes it with the last of them. Its type is set
// at creation (it is immutable) and its data follows the original's.
func copyPullSecrets(ctx context.Context, c client.Client, users client.Reader, owner client.Object, p PullSecrets) (refs []corev1.LocalObjectReference, missing []string, err error) {
	for _, name := range p.Names {
		orig := &corev1.Secret{}
		err := users.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, orig)
		if apierrors.IsNotFound(err) {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading image pull Secret %s/%s: %w", p.Namespace, name, err)
		}
		copyName := PullSecretName(name)
		if err := ensurePullSecretCopy(ctx, c, owner, orig, copyName); err != nil {
			return nil, nil, err
		}
		refs = append(refs, corev1.LocalObjectReference{Name: copyName})
	}
	return refs, missing, nil
}

func ensurePullSecretCopy(ctx context.Context, c client.Client, owner client.Object, orig *corev1.Secret, name string) error {
	key := client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}
	s := &corev1.Secret{}
	err := c.Get(ctx, key, s)
	switch {
	case apierrors.IsNotFound(err):
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: name, Labels: withCreatedBy(nil)},
			Type:       orig.Type, Data: orig.Data,
		}
		if err := controllerutil.SetOwnerReference(owner, s, c.Scheme()); err != nil {
			return fmt.Errorf("setting owner of Secret %s: %w", key, err)
		}
		log.FromContext(ctx).Info("Copying image pull Secret", "from", client.ObjectKeyFromObject(orig), "name", name)
		if err := c.Create(ctx, s); err != nil {
			return fmt.Errorf("creating Secret %s (copy of image pull Secret %s/%s): %w", key, orig.Namespace, orig.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading Secret %s: %w", key, err)
	}
	if s.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
		return fmt.Errorf("%w: Secret %s (where VolSync copies image pull Secret %s/%s); rename or delete it",
			ErrNotOwned, key, orig.Namespace, orig.Name)
	}
	before := s.DeepCopy()
	if err := controllerutil.SetOwnerReference(owner, s, c.Scheme()); err != nil {
		return fmt.Errorf("setting owner of Secret %s: %w", key, err)
	}
	s.Data = orig.Data
	if equality.Semantic.DeepEqual(before, s) {
		return nil
	}
	log.FromContext(ctx).Info("Updating image pull Secret copy", "from", client.ObjectKeyFromObject(orig), "name", name)
	// The optimistic lock keeps another replication's ownerReference from being lost (a merge
	// patch replaces the whole list).
	if err := c.Patch(ctx, s, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("updating Secret %s (copy of image pull Secret %s/%s): %w", key, orig.Namespace, orig.Name, err)
	}
	return nil
}

// missingChanged records missing in the ServiceAccount's annotation and reports whether it
// differs from what was recorded (so the Warning is emitted once per change).
func missingChanged(sa *corev1.ServiceAccount, missing []string) bool {
	want := strings.Join(missing, ",")
	if sa.Annotations[MissingPullSecretsAnnotation] == want {
		return false
	}
	if want == "" {
		delete(sa.Annotations, MissingPullSecretsAnnotation)
		return true
	}
	if sa.Annotations == nil {
		sa.Annotations = map[string]string{}
	}
	sa.Annotations[MissingPullSecretsAnnotation] = want
	return true
}

// warnMissing tells the user which configured pull Secrets could not be copied.
func warnMissing(ev events.Recorder, p PullSecrets, missing []string) {
	if len(missing) == 0 {
		return
	}
	ev.Warning(nil, reasonPullSecretMissing, actionCopyPullSecret,
		"image pull Secret(s) %s not found in namespace %s (--mover-image-pull-secrets); the mover runs without them: create them there or remove them from the flag",
		strings.Join(missing, ", "), p.Namespace)
}

// withPullSecretRefs returns have with VolSync's pull Secret copies replaced by refs; other
// entries (added by an admin) stay.
func withPullSecretRefs(have, refs []corev1.LocalObjectReference) []corev1.LocalObjectReference {
	out := slices.DeleteFunc(slices.Clone(have), func(r corev1.LocalObjectReference) bool {
		return strings.HasPrefix(r.Name, pullSecretPrefix)
	})
	return append(out, refs...)
}
