package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/events"
)

// AddressTimeout is how long a Service may go without an address before a
// NoServiceAddressAssigned warning is emitted.
const AddressTimeout = 15 * time.Second

// AWSLoadBalancerTypeAnnotation with value "nlb" is the annotation a LoadBalancer Service gets
// when the user sets no annotations (the reference implementation's default, which asks AWS
// for a Network Load Balancer: a Classic one would cut long-running transfers).
const (
	AWSLoadBalancerTypeAnnotation = "service.beta.kubernetes.io/aws-load-balancer-type"
	AWSLoadBalancerTypeNLB        = "nlb"
)

var (
	// ErrNotOwned is returned when a Service of the wanted name exists and is not controlled
	// by the replication object; VolSync never adopts it.
	ErrNotOwned = errors.New("service exists and is not controlled by this replication object")
	// ErrUnsupportedType is returned for Service types movers cannot listen behind
	// (ExternalName).
	ErrUnsupportedType = errors.New("unsupported Service type")
)

// Spec is the Service a destination mover listens behind.
type Spec struct {
	// Name of the Service, in Owner's namespace.
	Name string
	// Owner controls the Service (the ReplicationDestination or ReplicationSource).
	Owner client.Object
	// Type of the Service; nil means ClusterIP.
	Type *corev1.ServiceType
	// Annotations are merged into the Service's. nil means none, except for a LoadBalancer
	// Service, which then gets AWSLoadBalancerTypeAnnotation=nlb like in the reference
	// implementation; a non-nil map, even empty, replaces that default. Keys removed from this
	// map are not removed from the Service: they cannot be told apart from annotations that
	// users or cloud controllers add.
	Annotations *map[string]string
	// Selector selects the mover pod.
	Selector map[string]string
	// PortName, Port and TargetPort describe the single TCP port.
	PortName   string
	Port       int32
	TargetPort int32
	// Internal: the Service is the controller's own way to the mover (syncthing's API), not an
	// address users or peers connect to: no address events.
	Internal bool
}

// serviceType returns the type to use.
func (s Spec) serviceType() corev1.ServiceType {
	if s.Type == nil || *s.Type == "" {
		return corev1.ServiceTypeClusterIP
	}
	return *s.Type
}

// DesiredAnnotations returns the annotations VolSync sets on the Service.
func (s Spec) DesiredAnnotations() map[string]string {
	if s.Annotations != nil {
		return maps.Clone(*s.Annotations)
	}
	if s.serviceType() == corev1.ServiceTypeLoadBalancer {
		return map[string]string{AWSLoadBalancerTypeAnnotation: AWSLoadBalancerTypeNLB}
	}
	return nil
}

// AddressWarningAnnotation on a Service records (as the time it was sent) that the
// NoServiceAddressAssigned warning was emitted, so it is emitted once per Service, across
// controller restarts, with nothing kept in the controller; it is removed when the Service
// gets an address, so losing the address later warns again.
const AddressWarningAnnotation = "volsync.backube/address-warning-sent"

// Ensure creates or updates the Service and returns the address clients should connect to:
// the ClusterIP (kept rather than the DNS name for compatibility with the reference
// implementation), or for a LoadBalancer the first ingress hostname or IP; "" while none is
// assigned.
//
// The Service is controller-owned by s.Owner and labelled as created by VolSync. Type, ports
// and selector are kept as desired and annotations merged; labels and annotations added by
// others are kept, the allocated ClusterIP is never touched, and a type change updates the
// Service in place (the API server drops node ports no longer needed). Nothing is written when
// the Service is already as desired.
//
// Events regard s.Owner through rec: ServiceAddressAssigned when the address differs from
// previousAddress (the one the caller last published), NoServiceAddressAssigned once when the
// Service still has no address AddressTimeout after its creation (recorded in
// AddressWarningAnnotation, one write). Until that deadline
// requeueAfter is the time left; otherwise 0 (the caller should watch its Services so an
// address assigned later triggers a reconcile).
//
// An existing Service not controlled by s.Owner gives an error wrapping ErrNotOwned. Create
// races and conflicts give errors wrapping the API's AlreadyExists/Conflict errors
// (apierrors.IsAlreadyExists and apierrors.IsConflict see through the wrapping): the caller
// should requeue without logging them.
func Ensure(ctx context.Context, c client.Client, rec events.Recorder, clk clock.PassiveClock, s Spec, previousAddress string) (address string, requeueAfter time.Duration, err error) {
	if s.Owner == nil || s.Name == "" {
		return "", 0, errors.New("service.Spec needs a Name and an Owner")
	}
	switch s.serviceType() {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		return "", 0, fmt.Errorf("%w %q for Service %s: use ClusterIP, NodePort or LoadBalancer", ErrUnsupportedType, s.serviceType(), s.Name)
	}
	logger := log.FromContext(ctx).WithValues("service", s.Name)
	key := client.ObjectKey{Namespace: s.Owner.GetNamespace(), Name: s.Name}

	svc := &corev1.Service{}
	err = c.Get(ctx, key, svc)
	switch {
	case apierrors.IsNotFound(err):
		svc = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		mutate(svc, s)
		if err := controllerutil.SetControllerReference(s.Owner, svc, c.Scheme()); err != nil {
			return "", 0, fmt.Errorf("setting owner of Service %s: %w", key, err)
		}
		logger.Info("Creating Service", "type", svc.Spec.Type)
		if err := c.Create(ctx, svc); err != nil {
			return "", 0, fmt.Errorf("creating Service %s: %w", key, err)
		}
	case err != nil:
		return "", 0, fmt.Errorf("reading Service %s: %w", key, err)
	default:
		if !metav1.IsControlledBy(svc, s.Owner) {
			return "", 0, fmt.Errorf("%w: Service %s; rename or delete it so VolSync can create its own", ErrNotOwned, key)
		}
		orig := svc.DeepCopy()
		mutate(svc, s)
		if Address(svc) != "" {
			delete(svc.Annotations, AddressWarningAnnotation) // re-arm the warning
		}
		if !equality.Semantic.DeepEqual(orig, svc) {
			logger.Info("Updating Service", "type", svc.Spec.Type)
			// A merge patch sends only what changed, so fields set by the API server
			// (clusterIP, allocated node ports) and by other writers stay.
			if err := c.Patch(ctx, svc, client.MergeFrom(orig)); err != nil {
				return "", 0, fmt.Errorf("updating Service %s: %w", key, err)
			}
		}
	}

	address = Address(svc)
	if address != "" {
		if address != previousAddress && !s.Internal {
			rec.Normal(svc, events.ReasonServiceAddressAssigned, events.ActionAssignAddress,
				"listening on address %s for incoming connections", address)
		}
		return address, 0, nil
	}
	if left := WarnAfter(svc, clk.Now()); left > 0 {
		return "", left, nil
	}
	if _, sent := svc.Annotations[AddressWarningAnnotation]; sent {
		return "", 0, nil
	}
	// Marked first, guarded by the resourceVersion: of two racing reconciles only one warns,
	// and a failed mark sends nothing (the retry warns).
	orig := svc.DeepCopy()
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	svc.Annotations[AddressWarningAnnotation] = clk.Now().UTC().Format(time.RFC3339)
	if err := c.Patch(ctx, svc, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return "", 0, fmt.Errorf("recording the address warning on Service %s: %w", key, err)
	}
	rec.Warning(svc, events.ReasonNoServiceAddressAssigned, events.ActionAssignAddress,
		"waiting for an address to be assigned to %s; ensure the proper serviceType was specified",
		events.KindName("Service", svc.Name))
	return "", 0, nil
}

// WarnAfter returns how long after now a Service without an address should be reported:
// AddressTimeout after its creation, 0 once that has passed.
func WarnAfter(svc *corev1.Service, now time.Time) time.Duration {
	left := svc.CreationTimestamp.Add(AddressTimeout).Sub(now)
	if left < 0 {
		return 0
	}
	return left
}

// Address returns the address clients reach the Service at, "" while none is assigned.
func Address(svc *corev1.Service) string {
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if in.Hostname != "" {
				return in.Hostname
			}
			if in.IP != "" {
				return in.IP
			}
		}
		return ""
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return ""
	}
	return svc.Spec.ClusterIP
}

// mutate sets the fields VolSync manages on svc.
func mutate(svc *corev1.Service, s Spec) {
	if svc.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByValue {
		if svc.Labels == nil {
			svc.Labels = map[string]string{}
		}
		svc.Labels[v1alpha1.CreatedByLabel] = v1alpha1.CreatedByValue
	}
	for k, v := range s.DesiredAnnotations() {
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations[k] = v
	}
	svc.Spec.Type = s.serviceType()
	svc.Spec.Selector = maps.Clone(s.Selector)
	port := corev1.ServicePort{
		Name:       s.PortName,
		Protocol:   corev1.ProtocolTCP,
		Port:       s.Port,
		TargetPort: intstr.FromInt32(s.TargetPort),
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP {
		// Keep the node port the API server allocated, so clients using it are not cut off.
		for _, p := range svc.Spec.Ports {
			if p.Name == port.Name && p.Protocol == port.Protocol {
				port.NodePort = p.NodePort
			}
		}
	}
	svc.Spec.Ports = []corev1.ServicePort{port}
}
