package jobmover

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/jobs"
	"github.com/volsync-go/volsync/pkg/common/mover"
	"github.com/volsync-go/volsync/pkg/common/service"
)

// Service is the Service in front of a destination mover (the source connects to it).
type Service struct {
	// Type and Annotations are the user's serviceType and serviceAnnotations.
	Type        *corev1.ServiceType
	Annotations *map[string]string
	// PortName, Port and TargetPort describe its one TCP port.
	PortName   string
	Port       int32
	TargetPort int32
	// Address and PortStatus are the status fields where the address (nil until one is
	// assigned) and Port are published.
	Address    **string
	PortStatus **int32
}

// Destination describes one synchronization of a ReplicationDestination.
type Destination struct {
	Options    v1alpha1.ReplicationDestinationVolumeOptions
	VolumeMode *corev1.PersistentVolumeMode
	// Service, when set, is created before the Job and its address published.
	Service *Service
	// Job describes the mover Job writing pvc (Data defaults to pvc, writable).
	Job func(pvc *corev1.PersistentVolumeClaim) (Job, error)
}

// ProvisionedPVC names the destination PVC VolSync provisions for an object without
// destinationPVC: volsync-<rd>-<Kind.ProvisionedSuffix> (default "dst").
func (s Side) ProvisionedPVC() string {
	suffix := s.ProvisionedSuffix
	if suffix == "" {
		suffix = "dst"
	}
	return "volsync-" + s.Owner.GetName() + "-" + suffix
}

// Destination runs one synchronization of a ReplicationDestination: its volume, Service,
// Job and then the point-in-time image of the received data.
func (s Side) Destination(ctx context.Context, d Destination) (mover.Result, error) {
	pvc, wait, err := s.PiT.DestinationVolume(ctx, d.Options, d.VolumeMode, s.ProvisionedPVC())
	if err != nil {
		return mover.Result{}, err
	}
	if pvc == nil {
		return WithHint(mover.Result{}, wait), nil
	}
	addrRetry, err := s.ensureService(ctx, d.Service)
	if err != nil {
		return mover.Result{}, err
	}
	j, err := d.Job(pvc)
	if err != nil {
		return pending(err)
	}
	if j.Data == nil {
		j.Data = &jobs.Data{PVC: pvc}
	}
	done, res, err := s.Run(ctx, j)
	if !done || err != nil {
		if res.RetryAfter == 0 && addrRetry > 0 {
			res.RetryAfter = addrRetry
		}
		return WithHint(res, wait), err
	}
	img, wait, err := s.PiT.DestinationImage(ctx, d.Options, pvc)
	if err != nil {
		return mover.Result{}, err
	}
	if img == nil {
		return WithHint(mover.Result{MoverStatus: res.MoverStatus}, wait), nil
	}
	res.Completed, res.Image = true, img
	return res, nil
}

// ensureService makes the Service (named like the Job, selecting the mover pod) and publishes
// its address and port. It returns when to look again for an address not yet assigned.
func (s Side) ensureService(ctx context.Context, svc *Service) (retry time.Duration, err error) {
	if svc == nil {
		return 0, nil
	}
	prev := ""
	if *svc.Address != nil {
		prev = **svc.Address
	}
	addr, retry, err := service.Ensure(ctx, s.Env.Client, s.Env.Events, s.Env.Clock, service.Spec{
		Name: s.JobName(), Owner: s.Owner, Type: svc.Type, Annotations: svc.Annotations, Selector: s.PodLabels(),
		PortName: svc.PortName, Port: svc.Port, TargetPort: svc.TargetPort,
	}, prev)
	if err != nil {
		return 0, err
	}
	Publish(svc.Address, addr)
	if *svc.PortStatus == nil || **svc.PortStatus != svc.Port {
		port := svc.Port
		*svc.PortStatus = &port
	}
	return retry, nil
}

// Publish sets a status field to v, nil for "", writing only when it changes (quiet at rest).
func Publish(field **string, v string) {
	switch {
	case v == "":
		*field = nil
	case *field == nil || **field != v:
		*field = &v
	}
}

// CleanupDestination releases the destination PVC's snapshot name (so the next
// synchronization takes a new image) and removes the iteration's temporaries.
func (s Side) CleanupDestination(ctx context.Context, opts v1alpha1.ReplicationDestinationVolumeOptions) (mover.Result, error) {
	pvcName, user := s.ProvisionedPVC(), false
	if opts.DestinationPVC != nil && *opts.DestinationPVC != "" {
		pvcName, user = *opts.DestinationPVC, true
	}
	if err := s.PiT.ReleaseDestination(ctx, pvcName, user); err != nil {
		return mover.Result{}, err
	}
	return s.Cleanup(ctx)
}
