package relationship

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// The data layout is the reference's version 1: the structs the reference serialised have no
// yaml tags, so their keys are the lower-cased Go field names, and an embedded struct appears
// under its lower-cased type name. Nil pointers are left out, as the reference's writer drops
// them. Capacities are strings ("10Gi"): the reference could not store a resource.Quantity.

// CurrentVersion is the data.version written. Version 2 (the reference's later layout, which
// moved the volume options up one level) is read too.
const CurrentVersion = 1

// SourceVolumeOptions is ReplicationSourceVolumeOptions as stored.
type SourceVolumeOptions struct {
	CopyMethod              string   `yaml:"copymethod"`
	Capacity                string   `yaml:"capacity,omitempty"`
	StorageClassName        *string  `yaml:"storageclassname,omitempty"`
	AccessModes             []string `yaml:"accessmodes,omitempty"`
	VolumeSnapshotClassName *string  `yaml:"volumesnapshotclassname,omitempty"`
}

// DestinationVolumeOptions is ReplicationDestinationVolumeOptions as stored.
type DestinationVolumeOptions struct {
	CopyMethod              string   `yaml:"copymethod"`
	Capacity                string   `yaml:"capacity,omitempty"`
	StorageClassName        *string  `yaml:"storageclassname,omitempty"`
	AccessModes             []string `yaml:"accessmodes,omitempty"`
	VolumeSnapshotClassName *string  `yaml:"volumesnapshotclassname,omitempty"`
	DestinationPVC          *string  `yaml:"destinationpvc,omitempty"`
	CleanupTempPVC          bool     `yaml:"cleanuptemppvc,omitempty"`
}

// SourceRsync is ReplicationSourceRsyncSpec as stored.
type SourceRsync struct {
	VolumeOptions SourceVolumeOptions `yaml:"replicationsourcevolumeoptions"`
	SSHKeys       *string             `yaml:"sshkeys,omitempty"`
	ServiceType   *string             `yaml:"servicetype,omitempty"`
	Address       *string             `yaml:"address,omitempty"`
	Port          *int32              `yaml:"port,omitempty"`
	Path          *string             `yaml:"path,omitempty"`
	SSHUser       *string             `yaml:"sshuser,omitempty"`
}

// DestinationRsync is ReplicationDestinationRsyncSpec as stored.
type DestinationRsync struct {
	VolumeOptions      DestinationVolumeOptions `yaml:"replicationdestinationvolumeoptions"`
	VolumeMode         *string                  `yaml:"volumemode,omitempty"`
	SSHKeys            *string                  `yaml:"sshkeys,omitempty"`
	ServiceType        *string                  `yaml:"servicetype,omitempty"`
	ServiceAnnotations map[string]string        `yaml:"serviceannotations,omitempty"`
	Address            *string                  `yaml:"address,omitempty"`
	Port               *int32                   `yaml:"port,omitempty"`
	Path               *string                  `yaml:"path,omitempty"`
	SSHUser            *string                  `yaml:"sshuser,omitempty"`
}

// Trigger is the source's trigger as stored.
type Trigger struct {
	Schedule *string `yaml:"schedule,omitempty"`
	Manual   string  `yaml:"manual"`
}

// SourceSpec converts the stored source options to the API's rsync block.
func (s SourceRsync) SourceSpec() (*v1alpha1.ReplicationSourceRsyncSpec, error) {
	capacity, err := quantity("source capacity", s.VolumeOptions.Capacity)
	if err != nil {
		return nil, err
	}
	return &v1alpha1.ReplicationSourceRsyncSpec{
		ReplicationSourceVolumeOptions: v1alpha1.ReplicationSourceVolumeOptions{
			CopyMethod: v1alpha1.CopyMethodType(s.VolumeOptions.CopyMethod), Capacity: capacity,
			StorageClassName: s.VolumeOptions.StorageClassName, AccessModes: modes(s.VolumeOptions.AccessModes),
			VolumeSnapshotClassName: s.VolumeOptions.VolumeSnapshotClassName,
		},
		SSHKeys: s.SSHKeys, ServiceType: serviceType(s.ServiceType), Address: s.Address, Port: s.Port, Path: s.Path,
		SSHUser: s.SSHUser,
	}, nil
}

// DestinationSpec converts the stored destination options to the API's rsync block.
func (d DestinationRsync) DestinationSpec() (*v1alpha1.ReplicationDestinationRsyncSpec, error) {
	capacity, err := quantity("destination capacity", d.VolumeOptions.Capacity)
	if err != nil {
		return nil, err
	}
	spec := &v1alpha1.ReplicationDestinationRsyncSpec{
		ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{
			CopyMethod: v1alpha1.CopyMethodType(d.VolumeOptions.CopyMethod), Capacity: capacity,
			StorageClassName: d.VolumeOptions.StorageClassName, AccessModes: modes(d.VolumeOptions.AccessModes),
			VolumeSnapshotClassName: d.VolumeOptions.VolumeSnapshotClassName,
			DestinationPVC:          d.VolumeOptions.DestinationPVC, CleanupTempPVC: d.VolumeOptions.CleanupTempPVC,
		},
		SSHKeys: d.SSHKeys, ServiceType: serviceType(d.ServiceType), Address: d.Address, Port: d.Port, Path: d.Path,
		SSHUser: d.SSHUser,
	}
	if d.VolumeMode != nil {
		m := corev1.PersistentVolumeMode(*d.VolumeMode)
		spec.VolumeMode = &m
	}
	if d.ServiceAnnotations != nil {
		a := d.ServiceAnnotations
		spec.ServiceAnnotations = &a
	}
	return spec, nil
}

// CapacityString stores a capacity (nil gives "").
func CapacityString(q *resource.Quantity) string {
	if q == nil {
		return ""
	}
	return q.String()
}

// ModeStrings stores access modes.
func ModeStrings(m []corev1.PersistentVolumeAccessMode) []string {
	var out []string
	for _, x := range m {
		out = append(out, string(x))
	}
	return out
}

func modes(s []string) []corev1.PersistentVolumeAccessMode {
	var out []corev1.PersistentVolumeAccessMode
	for _, x := range s {
		out = append(out, corev1.PersistentVolumeAccessMode(x))
	}
	return out
}

func serviceType(s *string) *corev1.ServiceType {
	if s == nil {
		return nil
	}
	t := corev1.ServiceType(*s)
	return &t
}

func quantity(what, s string) (*resource.Quantity, error) {
	if s == "" {
		return nil, nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %w", ErrCorrupt, what, s, err)
	}
	return &q, nil
}
