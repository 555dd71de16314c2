package options

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/trigger"
)

// Sentinel errors, one per kind of bad flag value.
var (
	ErrCopyMethod  = errors.New("invalid copy method")
	ErrAccessMode  = errors.New("invalid access mode")
	ErrServiceType = errors.New("invalid service type")
	ErrCapacity    = errors.New("invalid capacity")
	ErrCronSpec    = errors.New("invalid cronspec")
)

var copyMethods = []v1alpha1.CopyMethodType{
	v1alpha1.CopyMethodDirect, v1alpha1.CopyMethodNone, v1alpha1.CopyMethodSnapshot, v1alpha1.CopyMethodClone,
}

// SourceCopyMethod parses a source's --copymethod (any case): Direct, None, Snapshot or Clone.
func SourceCopyMethod(s string) (v1alpha1.CopyMethodType, error) {
	for _, m := range copyMethods {
		if strings.EqualFold(s, string(m)) {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w %q: use one of Direct, None, Snapshot, Clone", ErrCopyMethod, s)
}

// DestinationCopyMethod parses a destination's --copymethod (any case): Direct, None or
// Snapshot. A destination cannot Clone: it has no volume to clone from before the data
// arrives, and the API rejects it.
func DestinationCopyMethod(s string) (v1alpha1.CopyMethodType, error) {
	m, err := SourceCopyMethod(s)
	if err != nil {
		return "", fmt.Errorf("%w %q: use one of Direct, None, Snapshot", ErrCopyMethod, s)
	}
	if m == v1alpha1.CopyMethodClone {
		return "", fmt.Errorf("%w %q: a destination cannot use Clone; use Snapshot (an image per synchronization) or Direct (the data stays in the PVC)", ErrCopyMethod, s)
	}
	return m, nil
}

var accessModes = []corev1.PersistentVolumeAccessMode{
	corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod,
}

// AccessModes parses --accessmodes values (exact names, as the API takes them); none gives nil.
func AccessModes(values []string) ([]corev1.PersistentVolumeAccessMode, error) {
	var out []corev1.PersistentVolumeAccessMode
	for _, v := range values {
		m, err := AccessMode(v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// AccessMode parses one access mode.
func AccessMode(v string) (corev1.PersistentVolumeAccessMode, error) {
	for _, m := range accessModes {
		if v == string(m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w %q: use ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod", ErrAccessMode, v)
}

// ServiceType parses --servicetype: ClusterIP or LoadBalancer (the two the reference offers).
func ServiceType(s string) (corev1.ServiceType, error) {
	for _, t := range []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeLoadBalancer} {
		if s == string(t) {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w %q: use ClusterIP or LoadBalancer", ErrServiceType, s)
}

// Capacity parses --capacity; "" gives nil. It must be a positive quantity.
func Capacity(s string) (*resource.Quantity, error) {
	if s == "" {
		return nil, nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w (e.g. 10Gi)", ErrCapacity, s, err)
	}
	if q.Sign() <= 0 {
		return nil, fmt.Errorf("%w %q: must be more than zero", ErrCapacity, s)
	}
	return &q, nil
}

// CronSpec checks --cronspec exactly as the API server admits spec.trigger.schedule (five
// fields or @hourly/@daily/@weekly/@monthly/@yearly/@annually, ranges ascending, a date that
// exists), so a bad spec is refused before anything is changed.
func CronSpec(s string) (string, error) {
	if _, err := trigger.ParseSchedule(s); err != nil {
		return "", fmt.Errorf("%w: %w", ErrCronSpec, err)
	}
	return s, nil
}
