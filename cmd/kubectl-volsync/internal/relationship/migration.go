package relationship

import "fmt"

// MigrationData is the data of a migration relationship.
type MigrationData struct {
	Version     int                   `yaml:"version"`
	Destination *MigrationDestination `yaml:"destination,omitempty"`
}

// MigrationDestination is the PVC the data goes into and the ReplicationDestination that
// receives it.
type MigrationDestination struct {
	Cluster     string           `yaml:"cluster"`
	Namespace   string           `yaml:"namespace"`
	PVCName     string           `yaml:"pvcname"`
	RDName      string           `yaml:"rdname"`
	SSHKeyName  string           `yaml:"sshkeyname"`
	Destination DestinationRsync `yaml:"destination"`
}

type migrationV2 struct {
	Version     int `yaml:"version"`
	Destination *struct {
		Cluster     string  `yaml:"cluster"`
		Namespace   string  `yaml:"namespace"`
		PVCName     string  `yaml:"pvcname"`
		RDName      string  `yaml:"rdname"`
		ServiceType *string `yaml:"servicetype,omitempty"`
		CopyMethod  string  `yaml:"copymethod"`
	} `yaml:"destination,omitempty"`
}

// NewMigration returns a new migration relationship (not yet written).
func NewMigration(dir, name string) (*File, *MigrationData, error) {
	f, err := New(dir, name, Migration)
	if err != nil {
		return nil, nil, err
	}
	return f, &MigrationData{Version: CurrentVersion}, nil
}

// LoadMigration reads a migration relationship; it must have a destination.
func LoadMigration(dir, name string) (*File, *MigrationData, error) {
	f, d, err := loadData(dir, name, Migration, (*migrationV2).data)
	if err != nil {
		return nil, nil, err
	}
	d.Version = CurrentVersion
	if d.Destination == nil || d.Destination.RDName == "" || d.Destination.Namespace == "" {
		return nil, nil, fmt.Errorf("%w %s: the migration has no destination", ErrCorrupt, f.Path)
	}
	return f, d, nil
}

// data converts the version-2 layout.
func (v2 *migrationV2) data() *MigrationData {
	d := &MigrationData{}
	if x := v2.Destination; x != nil {
		pvc := x.PVCName
		d.Destination = &MigrationDestination{Cluster: x.Cluster, Namespace: x.Namespace, PVCName: x.PVCName, RDName: x.RDName,
			Destination: DestinationRsync{ServiceType: x.ServiceType,
				VolumeOptions: DestinationVolumeOptions{CopyMethod: x.CopyMethod, DestinationPVC: &pvc}}}
	}
	return d
}

// CreateMigration stores d in the new file f and writes it (failing if the file appeared).
func CreateMigration(f *File, d *MigrationData) error {
	if err := f.SetData(d); err != nil {
		return err
	}
	return f.Create()
}
