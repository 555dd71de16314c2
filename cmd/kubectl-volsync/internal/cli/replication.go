package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/names"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/options"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/replication"
)

func replicationCommand(o Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replication",
		Short: "Replicate data between two PersistentVolumes",
		Long: `Replicate the contents of one PersistentVolume to another, in the same namespace, across
namespaces or across clusters, with the rsync (ssh) mover, on a schedule or on demand.

  kubectl volsync replication -r example create
  kubectl volsync replication -r example set-source --pvcname src-ctx/app/data --copymethod Snapshot
  kubectl volsync replication -r example set-destination --destination dst-ctx/backup/data --copymethod Direct
  kubectl volsync replication -r example schedule --cronspec '*/15 * * * *'
  kubectl volsync replication -r example sync
  kubectl volsync replication -r example delete`,
	}
	cmd.PersistentFlags().StringP("relationship", "r", "", "relationship name")
	cobra.CheckErr(cmd.MarkPersistentFlagRequired("relationship"))
	env := func(c *cobra.Command) replication.Env {
		return replication.Env{ConfigDir: configDir(c), Clients: o.Clients, Out: c.OutOrStdout()}
	}

	create := &cobra.Command{
		Use:   "create",
		Short: "Create a new replication relationship",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return replication.Create(env(c), relationshipName(c))
		},
	}

	setSource := &cobra.Command{
		Use:   "set-source",
		Short: "Set the source of the replication",
		Args:  cobra.NoArgs,
	}
	var src struct {
		pvc, method, sc, vsc string
		modes                []string
	}
	setSource.Flags().StringVar(&src.pvc, "pvcname", "", "PVC to replicate: [context/]namespace/name")
	setSource.Flags().StringVar(&src.method, "copymethod", "Clone", "how the point-in-time copy is made: Direct, None, Snapshot or Clone")
	setSource.Flags().StringSliceVar(&src.modes, "accessmodes", nil, "access modes of the point-in-time copy (ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod)")
	setSource.Flags().StringVar(&src.sc, "storageclass", "", "StorageClass of the point-in-time copy")
	setSource.Flags().StringVar(&src.vsc, "volumesnapshotclass", "", "VolumeSnapshotClass of the point-in-time copy")
	cobra.CheckErr(setSource.MarkFlagRequired("pvcname"))
	setSource.RunE = func(c *cobra.Command, _ []string) error {
		pvc, err := names.Parse(src.pvc)
		if err != nil {
			return fmt.Errorf("--pvcname: %w", err)
		}
		method, err := options.SourceCopyMethod(src.method)
		if err != nil {
			return fmt.Errorf("--copymethod: %w", err)
		}
		modes, err := options.AccessModes(src.modes)
		if err != nil {
			return fmt.Errorf("--accessmodes: %w", err)
		}
		return replication.SetSource(c.Context(), env(c), relationshipName(c), replication.SourceOptions{
			PVC: pvc, CopyMethod: method, AccessModes: modes, StorageClassName: optional(src.sc), VolumeSnapshotClassName: optional(src.vsc),
		})
	}

	setDest := &cobra.Command{
		Use:   "set-destination",
		Short: "Set the destination of the replication",
		Args:  cobra.NoArgs,
	}
	var dst struct {
		name, method, capacity, svc, sc, vsc string
		modes                                []string
	}
	setDest.Flags().StringVar(&dst.name, "destination", "", "ReplicationDestination (and, with Direct, PVC) to create: [context/]namespace/name")
	setDest.Flags().StringVar(&dst.method, "copymethod", "Snapshot", "how the destination keeps each synchronization: Snapshot, or Direct (None) to keep the data in the PVC")
	setDest.Flags().StringSliceVar(&dst.modes, "accessmodes", nil, "access modes of the destination PVC (default: the source's)")
	setDest.Flags().StringVar(&dst.capacity, "capacity", "", "size of the destination PVC (default: the source's)")
	setDest.Flags().StringVar(&dst.svc, "servicetype", "ClusterIP", "Service type of the destination: ClusterIP or LoadBalancer")
	setDest.Flags().StringVar(&dst.sc, "storageclass", "", "StorageClass of the destination PVC")
	setDest.Flags().StringVar(&dst.vsc, "volumesnapshotclass", "", "VolumeSnapshotClass of the destination's snapshots")
	cobra.CheckErr(setDest.MarkFlagRequired("destination"))
	setDest.RunE = func(c *cobra.Command, _ []string) error {
		name, err := names.Parse(dst.name)
		if err != nil {
			return fmt.Errorf("--destination: %w", err)
		}
		method, err := options.DestinationCopyMethod(dst.method)
		if err != nil {
			return fmt.Errorf("--copymethod: %w", err)
		}
		modes, err := options.AccessModes(dst.modes)
		if err != nil {
			return fmt.Errorf("--accessmodes: %w", err)
		}
		capacity, err := options.Capacity(dst.capacity)
		if err != nil {
			return fmt.Errorf("--capacity: %w", err)
		}
		svc, err := options.ServiceType(dst.svc)
		if err != nil {
			return fmt.Errorf("--servicetype: %w", err)
		}
		capText := ""
		if capacity != nil {
			capText = capacity.String()
		}
		return replication.SetDestination(c.Context(), env(c), relationshipName(c), replication.DestinationOptions{
			Destination: name, CopyMethod: method, AccessModes: modes, Capacity: capText, ServiceType: svc,
			StorageClassName: optional(dst.sc), VolumeSnapshotClassName: optional(dst.vsc),
		})
	}

	schedule := &cobra.Command{
		Use:   "schedule",
		Short: "Set replication schedule for the relationship",
		Args:  cobra.NoArgs,
	}
	var cronspec string
	schedule.Flags().StringVar(&cronspec, "cronspec", "", `cron schedule, e.g. "*/5 * * * *" or "@hourly"`)
	cobra.CheckErr(schedule.MarkFlagRequired("cronspec"))
	schedule.RunE = func(c *cobra.Command, _ []string) error {
		spec, err := options.CronSpec(cronspec)
		if err != nil {
			return fmt.Errorf("--cronspec: %w", err)
		}
		return replication.Schedule(c.Context(), env(c), relationshipName(c), spec)
	}

	sync := &cobra.Command{
		Use:   "sync",
		Short: "Run a single synchronization",
		Long: `Run one synchronization now and wait for it to complete. The schedule, if any, is replaced
by a manual trigger: run "schedule" again to resume periodic synchronization.`,
		Args: cobra.NoArgs,
	}
	var timeout time.Duration
	sync.Flags().DurationVar(&timeout, "timeout", replication.DefaultSyncTimeout, "how long to wait for the synchronization")
	sync.RunE = func(c *cobra.Command, _ []string) error {
		if timeout <= 0 {
			return fmt.Errorf("--timeout must be positive")
		}
		return replication.Sync(c.Context(), env(c), relationshipName(c), timeout)
	}

	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete an existing replication relationship",
		Long:  "Delete the relationship's ReplicationSource, key Secret and ReplicationDestination, then its file. A Direct destination's PVC keeps the data and stays.",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return replication.Delete(c.Context(), env(c), relationshipName(c))
		},
	}
	cmd.AddCommand(create, setSource, setDest, schedule, sync, del)
	return cmd
}
