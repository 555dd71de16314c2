package migration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/kube"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/names"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/relationship"
)

// Defaults.
const (
	// DefaultTimeout bounds each wait for the destination (the reference's
	// defaultRsyncKeyTimeout); the transfer itself is not bounded.
	DefaultTimeout = 10 * time.Minute
	DefaultPoll    = 2 * time.Second
	// rdSuffix ends the ReplicationDestination's name: <namespace>-<pvc>-migration-dest.
	rdSuffix = "-migration-dest"
	// manualPrefix starts the manual trigger values the CLI sets on the destination.
	manualPrefix = "migration-"
	// deleteTimeout bounds the wait for a deleted destination to go.
	deleteTimeout = 3 * time.Minute
)

// Sentinel errors.
var (
	ErrCapacity = errors.New("--capacity is required to create the PVC")
	ErrExists   = errors.New("already exists")
	ErrGone     = errors.New("the migration's ReplicationDestination is gone")
	ErrFailed   = errors.New("migration failed")
)

// Env is what the commands need from their surroundings.
type Env struct {
	ConfigDir string
	Clients   kube.ClientFor
	// Out receives progress and rsync's output; Err receives rsync's errors.
	Out, Err io.Writer
	// Poll is the polling interval (DefaultPoll when zero).
	Poll time.Duration
	// Now gives the manual trigger values.
	Now func() time.Time
}

func (e Env) poller() kube.Poller {
	p := e.Poll
	if p <= 0 {
		p = DefaultPoll
	}
	return kube.Poller{Interval: p, Progress: e.Out}
}

func (e Env) printf(format string, args ...any) {
	if e.Out != nil {
		_, _ = fmt.Fprintf(e.Out, format, args...)
	}
}

// manualValue is a new value of the destination's manual trigger.
func (e Env) manualValue() string {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	return manualPrefix + now().UTC().Format("20060102T150405.000000000Z")
}

// CreateOptions are the flags of migration create.
type CreateOptions struct {
	PVC              names.XName
	Capacity         *resource.Quantity
	AccessMode       corev1.PersistentVolumeAccessMode
	StorageClassName *string
	ServiceType      corev1.ServiceType
	// Timeout bounds the wait for the destination's address and keys.
	Timeout time.Duration
}

// RDName is the migration destination's name for a PVC.
func RDName(pvc names.XName) string { return pvc.Namespace + "-" + pvc.Name + rdSuffix }

// Create sets up a migration into a PVC: the namespace and the PVC when missing, and a
// ReplicationDestination that receives into the PVC as it is (copyMethod Direct) and listens
// for one transfer per manual trigger. It waits until the destination publishes its address
// and keys, then writes the relationship file. When anything fails, what Create made is
// removed and no file is written.
func Create(ctx context.Context, e Env, name string, o CreateOptions) (err error) {
	f, d, err := relationship.NewMigration(e.ConfigDir, name)
	if err != nil {
		return err
	}
	rdName := RDName(o.PVC)
	if msgs := validation.IsDNS1123Subdomain(rdName); len(msgs) > 0 {
		return fmt.Errorf("the destination's name %q (<namespace>-<pvc>%s) is not valid: %s", rdName, rdSuffix, strings.Join(msgs, "; "))
	}
	c, err := e.Clients(o.PVC.Context)
	if err != nil {
		return err
	}
	var undo kube.Undo
	defer undo.OnFailure(&err, e.Out)
	// Everything is checked before anything is created.
	rd := &v1alpha1.ReplicationDestination{}
	rdKey := client.ObjectKey{Namespace: o.PVC.Namespace, Name: rdName}
	if err := c.Get(ctx, rdKey, rd); err == nil {
		return fmt.Errorf("ReplicationDestination %s %w (another migration into this PVC?)", rdKey, ErrExists)
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("ReplicationDestination %s: %w", rdKey, err)
	}
	ns := &corev1.Namespace{}
	nsMissing := false
	if err := c.Get(ctx, client.ObjectKey{Name: o.PVC.Namespace}, ns); apierrors.IsNotFound(err) {
		nsMissing = true
	} else if err != nil {
		return fmt.Errorf("namespace %s: %w", o.PVC.Namespace, err)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	pvcKey := client.ObjectKey{Namespace: o.PVC.Namespace, Name: o.PVC.Name}
	pvcMissing := nsMissing
	if !nsMissing {
		if err := c.Get(ctx, pvcKey, pvc); apierrors.IsNotFound(err) {
			pvcMissing = true
		} else if err != nil {
			return fmt.Errorf("PVC %s: %w", pvcKey, err)
		}
	}
	if pvcMissing && o.Capacity == nil {
		return fmt.Errorf("PVC %s does not exist: %w", pvcKey, ErrCapacity)
	}

	if nsMissing {
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.PVC.Namespace}}
		if err := c.Create(ctx, ns); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns.Name, err)
		}
		undo.Created(c, ns)
		e.printf("created Namespace %s\n", ns.Name)
	}
	if pvcMissing {
		pvc = &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: pvcKey.Name, Namespace: pvcKey.Namespace},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{o.AccessMode},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: *o.Capacity}},
				StorageClassName: o.StorageClassName,
			},
		}
		if err := c.Create(ctx, pvc); err != nil {
			return fmt.Errorf("creating PVC %s: %w", pvcKey, err)
		}
		undo.Created(c, pvc)
		e.printf("created PersistentVolumeClaim %s (%s)\n", pvcKey, o.Capacity)
	}
	spec := relationship.DestinationRsync{
		VolumeOptions: relationship.DestinationVolumeOptions{CopyMethod: string(v1alpha1.CopyMethodDirect), DestinationPVC: ptr.To(pvcKey.Name)},
		ServiceType:   ptr.To(string(o.ServiceType)),
	}
	apiSpec, err := spec.DestinationSpec()
	if err != nil {
		return err
	}
	rd = &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: rdName, Namespace: o.PVC.Namespace, Labels: kube.Labels(f.ID)},
		Spec: v1alpha1.ReplicationDestinationSpec{
			// A manual trigger: the destination listens for one transfer and then waits for
			// the next "migration rsync" to change the value (the reference set no trigger,
			// so it restarted its listener after every transfer).
			Trigger: &v1alpha1.ReplicationDestinationTriggerSpec{Manual: e.manualValue()},
			Rsync:   apiSpec,
		},
	}
	if err := c.Create(ctx, rd); err != nil {
		return fmt.Errorf("creating ReplicationDestination %s: %w", rdKey, err)
	}
	undo.Created(c, rd)
	e.printf("created ReplicationDestination %s\n", rdKey)
	if _, err := waitPublished(ctx, e, c, rd, o.Timeout); err != nil {
		return err
	}
	d.Destination = &relationship.MigrationDestination{
		Cluster: o.PVC.Context, Namespace: o.PVC.Namespace, PVCName: o.PVC.Name, RDName: rdName, Destination: spec,
	}
	if err := relationship.CreateMigration(f, d); err != nil {
		return err
	}
	e.printf("created migration relationship %q: copy data with \"kubectl volsync migration rsync -r %s --source DIR/\"\n", name, name)
	return nil
}

// endpoint is where a destination listens, with its key Secret.
type endpoint struct {
	Address string
	Port    int32
	Keys    string
}

// waitPublished waits for rd's address and key Secret.
func waitPublished(ctx context.Context, e Env, c client.Client, rd *v1alpha1.ReplicationDestination, timeout time.Duration) (endpoint, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var ep endpoint
	key := client.ObjectKeyFromObject(rd)
	err := e.poller().Wait(ctx, timeout, "the address and keys of "+key.String(), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, key, rd); err != nil {
			if apierrors.IsNotFound(err) {
				return false, "", kube.Permanent{Err: fmt.Errorf("%w (%s)", ErrGone, key)}
			}
			return false, "", err
		}
		st := rd.Status
		if st == nil || st.Rsync == nil || ptr.Deref(st.Rsync.Address, "") == "" || ptr.Deref(st.Rsync.SSHKeys, "") == "" {
			var cs *v1alpha1.CommonStatus
			if st != nil {
				cs = &st.CommonStatus
			}
			return false, kube.Describe(cs), nil
		}
		ep = endpoint{Address: *st.Rsync.Address, Port: ptr.Deref(st.Rsync.Port, 22), Keys: *st.Rsync.SSHKeys}
		return true, "", nil
	})
	return ep, err
}
