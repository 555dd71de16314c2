package replication

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/kube"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/relationship"
)

// Delete removes the relationship's objects (the ReplicationSource and its key Secret on the
// source's cluster, the ReplicationDestination on the destination's; a Direct destination's
// PVC holds the replicated data and stays), waits until they are gone, then removes the
// relationship file. When an object cannot be removed the file stays, so Delete can be run
// again.
func Delete(ctx context.Context, e Env, name string) error {
	f, d, err := relationship.LoadReplication(e.ConfigDir, name)
	if err != nil {
		return err
	}
	if err := removeObjects(ctx, e, f, d); err != nil {
		return fmt.Errorf("%w (the relationship file %s is kept: run delete again)", err, f.Path)
	}
	if err := f.Delete(); err != nil {
		return err
	}
	e.printf("deleted replication relationship %q\n", name)
	return nil
}

// removeObjects deletes what the relationship made on both sides and waits for it to go.
func removeObjects(ctx context.Context, e Env, f *relationship.File, d *relationship.ReplicationData) error {
	var errs []error
	if s := d.Source; s != nil {
		if c, err := e.Clients(s.Cluster); err != nil {
			errs = append(errs, fmt.Errorf("source cluster: %w", err))
		} else {
			errs = append(errs, removeLabelled(ctx, e, c, s.Namespace, f.ID, &v1alpha1.ReplicationSourceList{}, &v1alpha1.ReplicationSource{}))
			errs = append(errs, removeLabelled(ctx, e, c, s.Namespace, f.ID, &corev1.SecretList{}, &corev1.Secret{}))
		}
	}
	if x := d.Destination; x != nil {
		if c, err := e.Clients(x.Cluster); err != nil {
			errs = append(errs, fmt.Errorf("destination cluster: %w", err))
		} else {
			errs = append(errs, removeLabelled(ctx, e, c, x.Namespace, f.ID, &v1alpha1.ReplicationDestinationList{}, &v1alpha1.ReplicationDestination{}))
		}
	}
	return errors.Join(errs...)
}

// removeLabelled deletes the objects of one kind labelled with the relationship in ns and
// waits until none is left.
func removeLabelled(ctx context.Context, e Env, c client.Client, ns, id string, list client.ObjectList, proto client.Object) error {
	kind := fmt.Sprintf("%T", proto)
	if gvk, err := c.GroupVersionKindFor(proto); err == nil {
		kind = gvk.Kind
	}
	sel := []client.ListOption{client.InNamespace(ns), client.MatchingLabels(kube.Labels(id))}
	if err := c.List(ctx, list, sel...); err != nil {
		return fmt.Errorf("listing %s in %s: %w", kind, ns, err)
	}
	if n := len(itemsOf(list)); n == 0 {
		return nil
	}
	if err := c.DeleteAllOf(ctx, proto, client.InNamespace(ns), client.MatchingLabels(kube.Labels(id)),
		client.PropagationPolicy("Background")); err != nil {
		return fmt.Errorf("deleting %s in %s: %w", kind, ns, err)
	}
	return e.poller().Wait(ctx, deleteTimeout, kind+" in "+ns+" to be deleted", func(ctx context.Context) (bool, string, error) {
		if err := c.List(ctx, list, sel...); err != nil {
			return false, "", err
		}
		items := itemsOf(list)
		if len(items) == 0 {
			e.printf("deleted %s of the relationship in %s\n", kind, ns)
			return true, "", nil
		}
		return false, fmt.Sprintf("%d left (%s)", len(items), items[0]), nil
	})
}

func itemsOf(list client.ObjectList) []string {
	var out []string
	switch l := list.(type) {
	case *v1alpha1.ReplicationSourceList:
		for _, x := range l.Items {
			out = append(out, x.Name)
		}
	case *v1alpha1.ReplicationDestinationList:
		for _, x := range l.Items {
			out = append(out, x.Name)
		}
	case *corev1.SecretList:
		for _, x := range l.Items {
			out = append(out, x.Name)
		}
	}
	return out
}
