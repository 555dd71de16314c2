package migration

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/relationship"
)

// Delete removes the migration's ReplicationDestination (its Service, Secrets and Jobs go
// with it), waits until it is gone, then removes the relationship file. The PVC, which holds
// the migrated data, stays.
func Delete(ctx context.Context, e Env, name string) error {
	f, d, c, key, err := e.open(name)
	if err != nil {
		return err
	}
	rd := &v1alpha1.ReplicationDestination{}
	if err := c.Get(ctx, key, rd); err == nil {
		if err := c.Delete(ctx, rd, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting ReplicationDestination %s: %w (the relationship file is kept: run delete again)", key, err)
		}
		if err := e.poller().Wait(ctx, deleteTimeout, "ReplicationDestination "+key.String()+" to be deleted", func(ctx context.Context) (bool, string, error) {
			err := c.Get(ctx, key, &v1alpha1.ReplicationDestination{})
			if apierrors.IsNotFound(err) {
				return true, "", nil
			}
			return false, "still there", err
		}); err != nil {
			return err
		}
		e.printf("deleted ReplicationDestination %s\n", key)
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("ReplicationDestination %s: %w", key, err)
	}
	if err := f.Delete(); err != nil {
		return err
	}
	e.printf("deleted migration relationship %q; the data stays in PVC %s/%s\n", name, d.Destination.Namespace, d.Destination.PVCName)
	return nil
}

// open loads the migration relationship name and returns its file, data, the client of its
// destination's cluster and the key of its ReplicationDestination.
func (e Env) open(name string) (*relationship.File, *relationship.MigrationData, client.Client, client.ObjectKey, error) {
	f, d, err := relationship.LoadMigration(e.ConfigDir, name)
	if err != nil {
		return nil, nil, nil, client.ObjectKey{}, err
	}
	m := d.Destination
	c, err := e.Clients(m.Cluster)
	if err != nil {
		return nil, nil, nil, client.ObjectKey{}, err
	}
	return f, d, c, client.ObjectKey{Namespace: m.Namespace, Name: m.RDName}, nil
}
