package rsynctls

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/cleanup"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/common/service"
)

const servicePortName = "rsync-tls"

type destination struct {
	base
	rd   *v1alpha1.ReplicationDestination
	spec *v1alpha1.ReplicationDestinationRsyncTLSSpec
}

// provisionedPVC names the destination PVC VolSync provisions (the reference's name).
func (d *destination) provisionedPVC() string { return "volsync-" + d.rd.Name + "-dst" }

func (d *destination) status() *v1alpha1.ReplicationDestinationRsyncTLSStatus {
	if d.rd.Status.RsyncTLS == nil {
		d.rd.Status.RsyncTLS = &v1alpha1.ReplicationDestinationRsyncTLSStatus{}
	}
	return d.rd.Status.RsyncTLS
}

// Synchronize prepares the volume, Service and key, runs the server Job, then makes the image.
func (d *destination) Synchronize(ctx context.Context) (mover.Result, error) {
	keys, generated, err := ensureKeySecret(ctx, d.env.Client, d.env.Users, d.rd, d.spec.KeySecret)
	if err != nil {
		return mover.Result{}, err
	}
	st := d.status()
	if !generated {
		st.KeySecret = nil
	} else if st.KeySecret == nil || *st.KeySecret != keys {
		st.KeySecret = &keys
	}

	pvc, wait, err := d.pit.DestinationVolume(ctx, d.spec.ReplicationDestinationVolumeOptions, d.spec.VolumeMode, d.provisionedPVC())
	if err != nil {
		return mover.Result{}, err
	}
	if pvc == nil {
		return withHint(mover.Result{}, wait), nil
	}

	prev := ""
	if st.Address != nil {
		prev = *st.Address
	}
	addr, addrRetry, err := service.Ensure(ctx, d.env.Client, d.env.Events, d.env.Clock, service.Spec{
		Name: naming.Job(Name, naming.Destination, d.rd.Name), Owner: d.rd, Type: d.spec.ServiceType,
		Annotations: d.spec.ServiceAnnotations, Selector: d.podLabels(),
		PortName: servicePortName, Port: DefaultPort, TargetPort: DefaultPort,
	}, prev)
	if err != nil {
		return mover.Result{}, err
	}
	if addr != prev {
		if addr == "" {
			st.Address = nil
		} else {
			st.Address = &addr
		}
	}
	if st.Port == nil || *st.Port != DefaultPort {
		port := DefaultPort
		st.Port = &port
	}

	done, res, err := d.runJob(ctx, d.moverJob(keys, pvc), &d.rd.Status.LatestMoverStatus)
	if !done || err != nil {
		if res.RetryAfter == 0 && addrRetry > 0 {
			res.RetryAfter = addrRetry
		}
		return withHint(res, wait), err
	}
	img, wait, err := d.pit.DestinationImage(ctx, d.spec.ReplicationDestinationVolumeOptions, pvc)
	if err != nil {
		return mover.Result{}, err
	}
	if img == nil {
		return withHint(mover.Result{}, wait), nil
	}
	return mover.DoneWithImage(img), nil
}

// moverJob is the server Job writing pvc with the PSK of Secret keys.
func (d *destination) moverJob(keys string, pvc *corev1.PersistentVolumeClaim) job {
	return job{
		args: []string{"server"}, env: []corev1.EnvVar{{Name: envListenPort, Value: strconv.Itoa(int(DefaultPort))}},
		keys: keys, data: &jobs.Data{PVC: pvc}, config: &d.spec.MoverConfig,
		paused: d.rd.Spec.Paused, direct: direct(d.spec.CopyMethod), userSA: d.spec.MoverServiceAccount, writable: true,
	}
}

// Cleanup removes the Job and temporaries and releases the destination PVC's snapshot name.
func (d *destination) Cleanup(ctx context.Context) (mover.Result, error) {
	pvcName, user := d.provisionedPVC(), false
	if d.spec.DestinationPVC != nil && *d.spec.DestinationPVC != "" {
		pvcName, user = *d.spec.DestinationPVC, true
	}
	if err := d.pit.ReleaseDestination(ctx, pvcName, user); err != nil {
		return mover.Result{}, err
	}
	done, err := cleanup.Temporary(ctx, d.env.Client, d.rd, kinds.TemporaryLists()...)
	if err != nil {
		return mover.Result{}, err
	}
	if !done {
		return mover.Pending(waitRetry), nil
	}
	return mover.Done(), nil
}
