package rsync

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	rsynccontract "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

type destination struct {
	jobmover.Side
	rd   *v1alpha1.ReplicationDestination
	spec *v1alpha1.ReplicationDestinationRsyncSpec
}

// Synchronize prepares the keys, volume and Service, runs the sshd Job until the source
// reports its transfer, then makes the image.
func (d *destination) Synchronize(ctx context.Context) (mover.Result, error) {
	keys, publish, err := ensureKeys(ctx, d.Env, d.rd, naming.Destination, d.spec.SSHKeys)
	if err != nil {
		return mover.Result{}, err
	}
	if d.rd.Status.Rsync == nil {
		d.rd.Status.Rsync = &v1alpha1.ReplicationDestinationRsyncStatus{}
	}
	st := d.rd.Status.Rsync
	jobmover.Publish(&st.SSHKeys, publish)
	var svc *jobmover.Service
	if ptr.Deref(d.spec.Address, "") == "" {
		svc = &jobmover.Service{
			Type: d.spec.ServiceType, Annotations: d.spec.ServiceAnnotations, PortName: "ssh",
			Port: ptr.Deref(d.spec.Port, rsynccontract.DefaultPort), TargetPort: listenPort,
			Address: &st.Address, PortStatus: &st.Port,
		}
	} else {
		// The user reaches the mover another way: no Service, nothing to publish.
		st.Address, st.Port = nil, nil
	}
	return d.Destination(ctx, jobmover.Destination{
		Options: d.spec.ReplicationDestinationVolumeOptions, VolumeMode: d.spec.VolumeMode, Service: svc,
		Job: func(*corev1.PersistentVolumeClaim) (jobmover.Job, error) { return d.moverJob(keys), nil },
	})
}

// moverJob is the sshd Job using the keys of Secret keys.
func (d *destination) moverJob(keys string) jobmover.Job {
	env := []corev1.EnvVar{portEnv(contract.EnvListenPort, listenPort)}
	if u := ptr.Deref(d.spec.SSHUser, ""); u != "" {
		// The login name the source will give (root otherwise): sshd knows it from the start.
		env = append(env, corev1.EnvVar{Name: rsynccontract.EnvSSHUser, Value: u})
	}
	o := podOptions{serviceAccount: d.spec.MoverServiceAccount, labels: d.spec.MoverPodLabels, resources: d.spec.MoverResources}
	return moverJob("destination", keys, destinationKeys, env, o, d.rd.Spec.Paused, d.spec.CopyMethod)
}

// Cleanup removes the Job and temporaries and releases the destination PVC's snapshot name.
func (d *destination) Cleanup(ctx context.Context) (mover.Result, error) {
	return d.CleanupDestination(ctx, d.spec.ReplicationDestinationVolumeOptions)
}
