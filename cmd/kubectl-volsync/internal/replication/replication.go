package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/kube"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/names"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/relationship"
)

// Timing defaults (the reference's defaultRsyncKeyTimeout and defaultVolumeSyncTimeout).
const (
	DefaultKeysTimeout = 10 * time.Minute
	DefaultSyncTimeout = 30 * time.Minute
	DefaultPoll        = 2 * time.Second
	// deleteTimeout bounds the wait for deleted objects to go.
	deleteTimeout = 3 * time.Minute
)

// Errors of missing parts of a relationship.
var (
	ErrNoSource      = errors.New(`the relationship has no source: please define a replication source with "set-source"`)
	ErrNoDestination = errors.New(`the relationship has no destination: please define a replication destination with "set-destination"`)
	ErrSyncFailed    = errors.New("synchronization failed")
)

// Env is what the commands need from their surroundings.
type Env struct {
	// ConfigDir holds the relationship files.
	ConfigDir string
	// Clients returns a client per kubeconfig context.
	Clients kube.ClientFor
	// Out receives progress and results.
	Out io.Writer
	// Poll is the polling interval (DefaultPoll when zero).
	Poll time.Duration
	// KeysTimeout bounds the wait for the destination's address and keys.
	KeysTimeout time.Duration
	// Now gives the time of manual triggers.
	Now func() time.Time
}

func (e Env) poller() kube.Poller {
	return kube.Poller{Interval: cmpOr(e.Poll, DefaultPoll), Progress: e.Out}
}

func (e Env) printf(format string, args ...any) {
	if e.Out != nil {
		_, _ = fmt.Fprintf(e.Out, format, args...)
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Create writes an empty replication relationship; it fails if the relationship exists.
func Create(e Env, name string) error {
	f, d, err := relationship.NewReplication(e.ConfigDir, name)
	if err != nil {
		return err
	}
	if err := relationship.CreateReplication(f, d); err != nil {
		return err
	}
	e.printf("created replication relationship %q (id %s) in %s\n", name, f.ID, f.Path)
	return nil
}

// SourceOptions are the flags of set-source.
type SourceOptions struct {
	PVC                     names.XName
	CopyMethod              v1alpha1.CopyMethodType
	AccessModes             []corev1.PersistentVolumeAccessMode
	StorageClassName        *string
	VolumeSnapshotClassName *string
}

// SetSource records the source of a relationship. Objects made for an earlier source or
// destination are removed first (they will be made again by "schedule" or "sync").
func SetSource(ctx context.Context, e Env, name string, o SourceOptions) error {
	f, d, err := relationship.LoadReplication(e.ConfigDir, name)
	if err != nil {
		return err
	}
	if err := removeObjects(ctx, e, f, d); err != nil {
		return err
	}
	prev := relationship.Trigger{}
	if d.Source != nil {
		prev = d.Source.Trigger
	}
	d.Source = &relationship.ReplicationSource{
		Cluster: o.PVC.Context, Namespace: o.PVC.Namespace, PVCName: o.PVC.Name,
		RSName: rsName(o.PVC.Name),
		Source: relationship.SourceRsync{VolumeOptions: relationship.SourceVolumeOptions{
			CopyMethod: string(o.CopyMethod), AccessModes: relationship.ModeStrings(o.AccessModes),
			StorageClassName: o.StorageClassName, VolumeSnapshotClassName: o.VolumeSnapshotClassName,
		}},
		Trigger: prev,
	}
	if err := relationship.SaveReplication(f, d); err != nil {
		return err
	}
	e.printf("source of %q: PVC %s (copy method %s), ReplicationSource %s\n", name, o.PVC, o.CopyMethod, d.Source.RSName)
	return nil
}

// rsName is the ReplicationSource's name: the PVC's with a random suffix, as the reference
// names it (several relationships may replicate one PVC).
func rsName(pvc string) string {
	const suffix = 6 // "-" and 5 characters
	if len(pvc) > 253-suffix {
		pvc = pvc[:253-suffix]
	}
	return pvc + "-" + rand.String(5)
}

// DestinationOptions are the flags of set-destination.
type DestinationOptions struct {
	Destination             names.XName
	CopyMethod              v1alpha1.CopyMethodType
	AccessModes             []corev1.PersistentVolumeAccessMode
	Capacity                string
	ServiceType             corev1.ServiceType
	StorageClassName        *string
	VolumeSnapshotClassName *string
}

// SetDestination records the destination of a relationship (see SetSource).
func SetDestination(ctx context.Context, e Env, name string, o DestinationOptions) error {
	f, d, err := relationship.LoadReplication(e.ConfigDir, name)
	if err != nil {
		return err
	}
	if err := removeObjects(ctx, e, f, d); err != nil {
		return err
	}
	d.Destination = &relationship.ReplicationDestination{
		Cluster: o.Destination.Context, Namespace: o.Destination.Namespace, RDName: o.Destination.Name,
		Destination: relationship.DestinationRsync{
			VolumeOptions: relationship.DestinationVolumeOptions{
				CopyMethod: string(o.CopyMethod), Capacity: o.Capacity, AccessModes: relationship.ModeStrings(o.AccessModes),
				StorageClassName: o.StorageClassName, VolumeSnapshotClassName: o.VolumeSnapshotClassName,
			},
			ServiceType: ptr.To(string(o.ServiceType)),
		},
	}
	if err := relationship.SaveReplication(f, d); err != nil {
		return err
	}
	e.printf("destination of %q: ReplicationDestination %s (copy method %s, Service %s)\n", name, o.Destination, o.CopyMethod, o.ServiceType)
	return nil
}

// Schedule makes the source synchronize on a cron schedule (already validated) and applies
// the relationship.
func Schedule(ctx context.Context, e Env, name, cronspec string) error {
	f, d, err := relationship.LoadReplication(e.ConfigDir, name)
	if err != nil {
		return err
	}
	if d.Source == nil {
		return ErrNoSource
	}
	d.Source.Trigger = relationship.Trigger{Schedule: ptr.To(cronspec)}
	if _, err := Apply(ctx, e, f, d); err != nil {
		return err
	}
	if err := relationship.SaveReplication(f, d); err != nil {
		return err
	}
	e.printf("replication %q synchronizes on the schedule %q\n", name, cronspec)
	return nil
}
