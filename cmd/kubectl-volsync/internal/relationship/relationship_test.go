package relationship

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"go.yaml.in/yaml/v3"
)

// copyTestdata copies testdata/<file> to dir/<name>.yaml.
func copyTestdata(t *testing.T, dir, file, name string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".yaml"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReadReferenceReplication: the reference's file (the docs' example) loads with every
// value, and converts to the API blocks the reference would have applied.
func TestReadReferenceReplication(t *testing.T) {
	dir := t.TempDir()
	copyTestdata(t, dir, "replication-v1.yaml", "example")
	f, d, err := LoadReplication(dir, "example")
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != "90d56bef-551d-4ede-b6a7-0783cabdafb6" || f.Type != Replication {
		t.Errorf("id %q type %q", f.ID, f.Type)
	}
	s, dst := d.Source, d.Destination
	if s == nil || dst == nil {
		t.Fatalf("source %+v destination %+v", s, dst)
	}
	if s.Cluster != "kind" || s.Namespace != "source" || s.PVCName != "datavol" || s.RSName != "datavol-87srf" ||
		ptr.Deref(s.Trigger.Schedule, "") != "*/5 * * * *" || s.Trigger.Manual != "" {
		t.Errorf("source %+v", s)
	}
	src, err := s.Source.SourceSpec()
	if err != nil {
		t.Fatal(err)
	}
	if src.CopyMethod != v1alpha1.CopyMethodClone || src.Capacity != nil || src.AccessModes != nil {
		t.Errorf("source spec %+v", src)
	}
	if dst.Cluster != "gcp" || dst.Namespace != "destns" || dst.RDName != "datavol" {
		t.Errorf("destination %+v", dst)
	}
	spec, err := dst.Destination.DestinationSpec()
	if err != nil {
		t.Fatal(err)
	}
	want := resource.MustParse("3Gi")
	if spec.CopyMethod != v1alpha1.CopyMethodSnapshot || spec.Capacity == nil || spec.Capacity.Cmp(want) != 0 ||
		len(spec.AccessModes) != 1 || spec.AccessModes[0] != corev1.ReadWriteOnce ||
		ptr.Deref(spec.StorageClassName, "") != "standard-csi" || ptr.Deref(spec.VolumeSnapshotClassName, "") != "csi-gce-pd-vsc" ||
		ptr.Deref(spec.ServiceType, "") != corev1.ServiceTypeLoadBalancer {
		t.Errorf("destination spec %+v", spec)
	}
}

// TestRoundTripKeepsReferenceLayout: loading and saving a reference file keeps its layout
// (the same keys at the same places, capacity a string), so the reference reads it back.
func TestRoundTripKeepsReferenceLayout(t *testing.T) {
	dir := t.TempDir()
	copyTestdata(t, dir, "replication-v1.yaml", "example")
	f, d, err := LoadReplication(dir, "example")
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveReplication(f, d); err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	readYAML(t, f.Path, &got)
	readYAML(t, filepath.Join("testdata", "replication-v1.yaml"), &want)
	// The reference keeps empty lists; this CLI leaves them out like nil pointers.
	delete(dig(want, "data", "source", "source", "replicationsourcevolumeoptions"), "accessmodes")
	if !equalYAML(t, got, want) {
		t.Errorf("saved file differs from the reference's:\n%s", readFile(t, f.Path))
	}
	if c := dig(got, "data", "destination", "destination", "replicationdestinationvolumeoptions")["capacity"]; c != "3Gi" {
		t.Errorf("capacity stored as %T %v, want the string 3Gi", c, c)
	}
	if fi, err := os.Stat(f.Path); err != nil || fi.Mode().Perm() != fileMode {
		t.Errorf("file mode: %v %v", fi.Mode(), err)
	}
}

// TestNewFileLayout: a new relationship with every side set is written in the reference's
// layout, with the keys the reference's decoder looks for.
func TestNewFileLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	f, d, err := NewReplication(dir, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if err := CreateReplication(f, d); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != dirMode {
		t.Errorf("config dir mode %v %v", fi.Mode(), err)
	}
	d.Source = &ReplicationSource{Namespace: "a", PVCName: "p", RSName: "p-abcde", Source: SourceRsync{VolumeOptions: SourceVolumeOptions{
		CopyMethod: "Snapshot", Capacity: "1Gi", AccessModes: []string{"ReadWriteOnce"}}}, Trigger: Trigger{Manual: "m"}}
	d.Destination = &ReplicationDestination{Cluster: "c", Namespace: "b", RDName: "p", Destination: DestinationRsync{
		VolumeOptions: DestinationVolumeOptions{CopyMethod: "Direct", DestinationPVC: ptr.To("p")}, ServiceType: ptr.To("ClusterIP")}}
	if err := SaveReplication(f, d); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	readYAML(t, f.Path, &got)
	for _, c := range []struct {
		path []string
		key  string
		want any
	}{
		{nil, "type", "replication"},
		{nil, "id", f.ID},
		{[]string{"data"}, "version", 1},
		{[]string{"data", "source"}, "pvcname", "p"},
		{[]string{"data", "source"}, "rsname", "p-abcde"},
		{[]string{"data", "source", "trigger"}, "manual", "m"},
		{[]string{"data", "source", "source", "replicationsourcevolumeoptions"}, "capacity", "1Gi"},
		{[]string{"data", "source", "source", "replicationsourcevolumeoptions"}, "copymethod", "Snapshot"},
		{[]string{"data", "destination"}, "rdname", "p"},
		{[]string{"data", "destination", "destination"}, "servicetype", "ClusterIP"},
		{[]string{"data", "destination", "destination", "replicationdestinationvolumeoptions"}, "destinationpvc", "p"},
	} {
		if v := dig(got, c.path...)[c.key]; v != c.want {
			t.Errorf("%v.%s = %#v, want %#v", c.path, c.key, v, c.want)
		}
	}
	if strings.Contains(readFile(t, f.Path), "null") {
		t.Errorf("nil values written:\n%s", readFile(t, f.Path))
	}
	_, back, err := LoadReplication(dir, "r1")
	if err != nil || back.Source.RSName != "p-abcde" || *back.Destination.Destination.VolumeOptions.DestinationPVC != "p" {
		t.Fatalf("read back: %+v %v", back, err)
	}
}

func TestReadReferenceMigration(t *testing.T) {
	dir := t.TempDir()
	copyTestdata(t, dir, "migration-v1.yaml", "mig-example")
	_, d, err := LoadMigration(dir, "mig-example")
	if err != nil {
		t.Fatal(err)
	}
	m := d.Destination
	if m.Namespace != "destination" || m.PVCName != "mydata" || m.RDName != "destination-mydata-migration-dest" ||
		ptr.Deref(m.Destination.ServiceType, "") != "LoadBalancer" || ptr.Deref(m.Destination.VolumeOptions.DestinationPVC, "") != "mydata" {
		t.Errorf("migration %+v", m)
	}
}

func TestReadVersion2(t *testing.T) {
	dir := t.TempDir()
	copyTestdata(t, dir, "replication-v2.yaml", "v2")
	_, d, err := LoadReplication(dir, "v2")
	if err != nil {
		t.Fatal(err)
	}
	if d.Source.RSName != "data-x7k2p" || d.Source.Source.VolumeOptions.CopyMethod != "Snapshot" || d.Source.Trigger.Manual == "" ||
		d.Destination.Destination.VolumeOptions.Capacity != "2Gi" || ptr.Deref(d.Destination.Destination.ServiceType, "") != "ClusterIP" {
		t.Errorf("v2 read as %+v %+v", d.Source, d.Destination)
	}
}

func TestReadMigrationVersion2(t *testing.T) {
	dir := t.TempDir()
	body := "type: migration\nid: 90d56bef-551d-4ede-b6a7-0783cabdafb6\ndata:\n  version: 2\n  isrsynctls: false\n" +
		"  destination:\n    cluster: \"\"\n    namespace: destination\n    pvcname: mydata\n    rdname: destination-mydata-migration-dest\n" +
		"    servicetype: ClusterIP\n    copymethod: Direct\n"
	if err := os.WriteFile(filepath.Join(dir, "m2.yaml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, d, err := LoadMigration(dir, "m2")
	if err != nil {
		t.Fatal(err)
	}
	m := d.Destination
	if d.Version != CurrentVersion || m.Namespace != "destination" || m.PVCName != "mydata" || m.RDName != "destination-mydata-migration-dest" ||
		ptr.Deref(m.Destination.ServiceType, "") != "ClusterIP" || m.Destination.VolumeOptions.CopyMethod != "Direct" ||
		ptr.Deref(m.Destination.VolumeOptions.DestinationPVC, "") != "mydata" {
		t.Errorf("migration v2 read as %+v", m)
	}
}

func TestMixedCaseKeys(t *testing.T) {
	dir := t.TempDir()
	copyTestdata(t, dir, "mixed-case.yaml", "mixed")
	_, d, err := LoadReplication(dir, "mixed")
	if err != nil {
		t.Fatal(err)
	}
	if d.Source == nil || d.Source.PVCName != "db" || d.Source.Source.VolumeOptions.Capacity != "500Mi" || d.Destination != nil {
		t.Errorf("mixed case read as %+v", d.Source)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	copyTestdata(t, dir, "replication-v1.yaml", "rep")
	copyTestdata(t, dir, "migration-v1.yaml", "mig")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("v3", "type: replication\nid: 90d56bef-551d-4ede-b6a7-0783cabdafb6\ndata:\n  version: 3\n")
	write("noversion", "type: replication\nid: 90d56bef-551d-4ede-b6a7-0783cabdafb6\n")
	write("tls", "type: migration\nid: 90d56bef-551d-4ede-b6a7-0783cabdafb6\ndata:\n  version: 2\n  isrsynctls: true\n")
	write("badid", "type: replication\nid: nope\ndata:\n  version: 1\n")
	write("garbage", "type: [\n")
	write("badcap", "type: replication\nid: 90d56bef-551d-4ede-b6a7-0783cabdafb6\ndata:\n  version: 1\n  source:\n    source:\n      replicationsourcevolumeoptions:\n        capacity: lots\n")

	tests := []struct {
		name string
		load func() error
		want error
		text string
	}{
		{"missing", func() error { _, _, err := LoadReplication(dir, "nope"); return err }, ErrNotFound, "replication create -r nope"},
		{"wrong type", func() error { _, _, err := LoadReplication(dir, "mig"); return err }, ErrType, `"migration" relationship, not "replication"`},
		{"wrong type 2", func() error { _, _, err := LoadMigration(dir, "rep"); return err }, ErrType, `"replication" relationship, not "migration"`},
		{"version 3", func() error { _, _, err := LoadReplication(dir, "v3"); return err }, ErrVersion, "version 3"},
		{"no version", func() error { _, _, err := LoadReplication(dir, "noversion"); return err }, ErrVersion, "version 0"},
		{"rsync-tls", func() error { _, _, err := LoadMigration(dir, "tls"); return err }, ErrVersion, "rsync-TLS"},
		{"bad id", func() error { _, _, err := LoadReplication(dir, "badid"); return err }, ErrCorrupt, `id "nope"`},
		{"garbage", func() error { _, _, err := LoadReplication(dir, "garbage"); return err }, ErrCorrupt, "garbage.yaml"},
		{"exists", func() error { _, _, err := NewReplication(dir, "rep"); return err }, ErrExists, "rep.yaml"},
		{"bad name", func() error { _, _, err := NewReplication(dir, "../x"); return err }, ErrName, "no slashes"},
		{"bad capacity", func() error {
			_, d, err := LoadReplication(dir, "badcap")
			if err != nil {
				return err
			}
			_, err = d.Source.Source.SourceSpec()
			return err
		}, ErrCorrupt, `"lots"`},
	}
	for _, tc := range tests {
		err := tc.load()
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v; want %v containing %q", tc.name, err, tc.want, tc.text)
		}
	}
}

// TestCreateIsExclusive: a file that appears between New and Create is not overwritten.
func TestCreateIsExclusive(t *testing.T) {
	dir := t.TempDir()
	f, d, err := NewReplication(dir, "r")
	if err != nil {
		t.Fatal(err)
	}
	copyTestdata(t, dir, "replication-v1.yaml", "r")
	if err := CreateReplication(f, d); !errors.Is(err, ErrExists) {
		t.Fatalf("Create over an existing file: %v", err)
	}
	if _, d, err := LoadReplication(dir, "r"); err != nil || d.Source.RSName != "datavol-87srf" {
		t.Errorf("the existing file was changed: %+v %v", d, err)
	}
	if err := f.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete(); err != nil {
		t.Errorf("deleting a missing file: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	if err := yaml.Unmarshal([]byte(readFile(t, path)), out); err != nil {
		t.Fatal(err)
	}
}

func equalYAML(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}

// dig returns the mapping at path in m (an empty one when absent).
func dig(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			return map[string]any{}
		}
		m = next
	}
	return m
}
