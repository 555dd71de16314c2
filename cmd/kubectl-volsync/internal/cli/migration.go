package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/migration"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/names"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/options"
)

func migrationCommand(o Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migration",
		Short: "Migrate data into a PersistentVolume",
		Long: `Copy data from a directory of this machine into a Kubernetes PersistentVolume, with rsync over
ssh (rsync and ssh must be installed here). Run "rsync" as often as needed: each run sends
only the changes.

  kubectl volsync migration -r mig create --pvcname dst-ctx/apps/data --capacity 10Gi
  kubectl volsync migration -r mig rsync --source /srv/data/
  kubectl volsync migration -r mig delete`,
	}
	cmd.PersistentFlags().StringP("relationship", "r", "", "relationship name")
	cobra.CheckErr(cmd.MarkPersistentFlagRequired("relationship"))
	env := func(c *cobra.Command) migration.Env {
		return migration.Env{ConfigDir: configDir(c), Clients: o.Clients, Out: c.OutOrStdout(), Err: c.ErrOrStderr()}
	}

	create := &cobra.Command{
		Use:   "create",
		Short: "Create a new migration destination",
		Args:  cobra.NoArgs,
	}
	var cr struct {
		pvc, capacity, mode, sc, svc string
		timeout                      time.Duration
	}
	create.Flags().StringVar(&cr.pvc, "pvcname", "", "PVC to copy the data into: [context/]namespace/name (created when missing)")
	create.Flags().StringVar(&cr.capacity, "capacity", "", "size of the PVC (required when it does not exist)")
	create.Flags().StringVar(&cr.mode, "accessmodes", "ReadWriteOnce", "access mode of a new PVC")
	create.Flags().StringVar(&cr.sc, "storageclass", "", "StorageClass of a new PVC")
	create.Flags().StringVar(&cr.svc, "servicetype", "LoadBalancer", "Service type of the destination: ClusterIP or LoadBalancer")
	create.Flags().DurationVar(&cr.timeout, "timeout", migration.DefaultTimeout, "how long to wait for the destination's address and keys")
	cobra.CheckErr(create.MarkFlagRequired("pvcname"))
	create.RunE = func(c *cobra.Command, _ []string) error {
		pvc, err := names.Parse(cr.pvc)
		if err != nil {
			return fmt.Errorf("--pvcname: %w", err)
		}
		capacity, err := options.Capacity(cr.capacity)
		if err != nil {
			return fmt.Errorf("--capacity: %w", err)
		}
		mode, err := options.AccessMode(cr.mode)
		if err != nil {
			return fmt.Errorf("--accessmodes: %w", err)
		}
		svc, err := options.ServiceType(cr.svc)
		if err != nil {
			return fmt.Errorf("--servicetype: %w", err)
		}
		return migration.Create(c.Context(), env(c), relationshipName(c), migration.CreateOptions{
			PVC: pvc, Capacity: capacity, AccessMode: mode, StorageClassName: optional(cr.sc), ServiceType: svc, Timeout: cr.timeout,
		})
	}

	rsync := &cobra.Command{
		Use:   "rsync",
		Short: "Rsync data from source to destination",
		Args:  cobra.NoArgs,
	}
	var rs struct {
		source  string
		timeout time.Duration
	}
	rsync.Flags().StringVar(&rs.source, "source", "", `local directory to copy; "dir/" copies its contents, "dir" the directory itself`)
	rsync.Flags().DurationVar(&rs.timeout, "timeout", migration.DefaultTimeout, "how long to wait for the destination (not the transfer)")
	cobra.CheckErr(rsync.MarkFlagRequired("source"))
	rsync.RunE = func(c *cobra.Command, _ []string) error {
		return migration.Rsync(c.Context(), env(c), relationshipName(c), migration.RsyncOptions{Source: rs.source, Timeout: rs.timeout})
	}

	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete a migration destination",
		Long:  "Delete the migration's ReplicationDestination, then its file. The PVC keeps the data and stays.",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return migration.Delete(c.Context(), env(c), relationshipName(c))
		},
	}
	cmd.AddCommand(create, rsync, del)
	return cmd
}
