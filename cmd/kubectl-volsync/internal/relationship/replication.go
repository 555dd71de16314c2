package relationship

// ReplicationData is the data of a replication relationship.
type ReplicationData struct {
	Version     int                     `yaml:"version"`
	Source      *ReplicationSource      `yaml:"source,omitempty"`
	Destination *ReplicationDestination `yaml:"destination,omitempty"`
}

// ReplicationSource is the source side: the PVC and the ReplicationSource made for it.
type ReplicationSource struct {
	Cluster   string      `yaml:"cluster"`
	Namespace string      `yaml:"namespace"`
	PVCName   string      `yaml:"pvcname"`
	RSName    string      `yaml:"rsname"`
	Source    SourceRsync `yaml:"source"`
	Trigger   Trigger     `yaml:"trigger"`
}

// ReplicationDestination is the destination side: the ReplicationDestination.
type ReplicationDestination struct {
	Cluster     string           `yaml:"cluster"`
	Namespace   string           `yaml:"namespace"`
	RDName      string           `yaml:"rdname"`
	Destination DestinationRsync `yaml:"destination"`
}

// replicationV2 is the reference's later layout (data.version 2), read for compatibility.
type replicationV2 struct {
	Version int `yaml:"version"`
	Source  *struct {
		Cluster       string              `yaml:"cluster"`
		Namespace     string              `yaml:"namespace"`
		PVCName       string              `yaml:"pvcname"`
		RSName        string              `yaml:"rsname"`
		VolumeOptions SourceVolumeOptions `yaml:"replicationsourcevolumeoptions"`
		Trigger       Trigger             `yaml:"trigger"`
	} `yaml:"source,omitempty"`
	Destination *struct {
		Cluster       string                   `yaml:"cluster"`
		Namespace     string                   `yaml:"namespace"`
		RDName        string                   `yaml:"rdname"`
		VolumeOptions DestinationVolumeOptions `yaml:"replicationdestinationvolumeoptions"`
		ServiceType   *string                  `yaml:"servicetype,omitempty"`
	} `yaml:"destination,omitempty"`
}

// NewReplication returns an empty replication relationship (not yet written).
func NewReplication(dir, name string) (*File, *ReplicationData, error) {
	f, err := New(dir, name, Replication)
	if err != nil {
		return nil, nil, err
	}
	return f, &ReplicationData{Version: CurrentVersion}, nil
}

// LoadReplication reads a replication relationship.
func LoadReplication(dir, name string) (*File, *ReplicationData, error) {
	f, d, err := loadData(dir, name, Replication, (*replicationV2).data)
	if err != nil {
		return nil, nil, err
	}
	d.Version = CurrentVersion
	return f, d, nil
}

// data converts the version-2 layout.
func (v2 *replicationV2) data() *ReplicationData {
	d := &ReplicationData{}
	if s := v2.Source; s != nil {
		d.Source = &ReplicationSource{Cluster: s.Cluster, Namespace: s.Namespace, PVCName: s.PVCName, RSName: s.RSName,
			Source: SourceRsync{VolumeOptions: s.VolumeOptions}, Trigger: s.Trigger}
	}
	if x := v2.Destination; x != nil {
		d.Destination = &ReplicationDestination{Cluster: x.Cluster, Namespace: x.Namespace, RDName: x.RDName,
			Destination: DestinationRsync{VolumeOptions: x.VolumeOptions, ServiceType: x.ServiceType}}
	}
	return d
}

// SaveReplication stores d in f and writes the file.
func SaveReplication(f *File, d *ReplicationData) error {
	if err := f.SetData(d); err != nil {
		return err
	}
	return f.Save()
}

// CreateReplication stores d in the new file f and writes it (failing if the file appeared).
func CreateReplication(f *File, d *ReplicationData) error {
	if err := f.SetData(d); err != nil {
		return err
	}
	return f.Create()
}
