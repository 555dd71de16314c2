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
	Version     int  `yaml:"version"`
	IsRsyncTLS  bool `yaml:"isrsynctls"`
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
	f, err := Load(dir, name, Migration)
	if err != nil {
		return nil, nil, err
	}
	d := &MigrationData{}
	switch v := f.Version(); v {
	case 1:
		if err := f.Decode(d); err != nil {
			return nil, nil, err
		}
	case 2:
		var v2 migrationV2
		if err := f.Decode(&v2); err != nil {
			return nil, nil, err
		}
		if v2.IsRsyncTLS {
			return nil, nil, fmt.Errorf("%w: relationship %q uses rsync-TLS, which this CLI does not support (only rsync over ssh)", ErrVersion, name)
		}
		if x := v2.Destination; x != nil {
			pvc := x.PVCName
			d.Destination = &MigrationDestination{Cluster: x.Cluster, Namespace: x.Namespace, PVCName: x.PVCName, RDName: x.RDName,
				Destination: DestinationRsync{ServiceType: x.ServiceType,
					VolumeOptions: DestinationVolumeOptions{CopyMethod: x.CopyMethod, DestinationPVC: &pvc}}}
		}
	default:
		return nil, nil, fmt.Errorf("%w %d in %s (this CLI reads versions 1 and 2)", ErrVersion, v, f.Path)
	}
	d.Version = CurrentVersion
	if d.Destination == nil || d.Destination.RDName == "" || d.Destination.Namespace == "" {
		return nil, nil, fmt.Errorf("%w %s: the migration has no destination", ErrCorrupt, f.Path)
	}
	return f, d, nil
}

// CreateMigration stores d in the new file f and writes it (failing if the file appeared).
func CreateMigration(f *File, d *MigrationData) error {
	if err := f.SetData(d); err != nil {
		return err
	}
	return f.Create()
}
