package rsynctls

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	contract "github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/pkg/common/jobmover"
	"github.com/volsync-go/volsync/pkg/common/mover"
)

type destination struct {
	jobmover.Side
	rd   *v1alpha1.ReplicationDestination
	spec *v1alpha1.ReplicationDestinationRsyncTLSSpec
}

// Synchronize prepares the key, volume and Service, runs the server Job, then makes the image.
func (d *destination) Synchronize(ctx context.Context) (mover.Result, error) {
	keys, generated, err := ensureKeySecret(ctx, d.Env, d.rd, d.spec.KeySecret)
	if err != nil {
		return mover.Result{}, err
	}
	if d.rd.Status.RsyncTLS == nil {
		d.rd.Status.RsyncTLS = &v1alpha1.ReplicationDestinationRsyncTLSStatus{}
	}
	st := d.rd.Status.RsyncTLS
	publishKeys(&st.KeySecret, keys, generated)
	return d.Destination(ctx, jobmover.Destination{
		Options: d.spec.ReplicationDestinationVolumeOptions, VolumeMode: d.spec.VolumeMode,
		Service: &jobmover.Service{
			Type: d.spec.ServiceType, Annotations: d.spec.ServiceAnnotations,
			PortName: Name, Port: DefaultPort, TargetPort: DefaultPort, Address: &st.Address, PortStatus: &st.Port,
		},
		Job: func(*corev1.PersistentVolumeClaim) (jobmover.Job, error) { return d.moverJob(keys), nil },
	})
}

// moverJob is the server Job with the PSK of Secret keys.
func (d *destination) moverJob(keys string) jobmover.Job {
	env := []corev1.EnvVar{{Name: contract.EnvListenPort, Value: strconv.Itoa(int(DefaultPort))}}
	return moverJob("server", keys, env, &d.spec.MoverConfig, d.rd.Spec.Paused, d.spec.CopyMethod, d.spec.MoverServiceAccount)
}

// Cleanup removes the Job and temporaries and releases the destination PVC's snapshot name.
func (d *destination) Cleanup(ctx context.Context) (mover.Result, error) {
	return d.CleanupDestination(ctx, d.spec.ReplicationDestinationVolumeOptions)
}
