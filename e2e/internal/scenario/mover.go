//go:build e2e

package scenario

import (
	"fmt"
	"hash/crc32"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// Mover is what a mover's suite tells the shared scenarios (its driver): the names of its
// block in the API (spec.<Field>, status.<Field>) and of what its controller creates.
// Everything else (volumes, triggers, waits, the checks) is shared.
//
// The scenarios write and read a mover's block by the field names users write in YAML, so one
// description serves every mover whose destination publishes address, port and a key Secret
// (rsync, rsync-TLS): a source gets spec.<Field>.address, .port and .<KeysField> from the
// destination's status.<Field>. Object names follow the reference (Appendix A) for every
// Job-per-sync mover: Jobs volsync-<Method>-src-<rs> / volsync-<Method>-dst-<rd>, the
// destination's Service named as its Job, shortened with a CRC-32 beyond 63 characters.
type Mover struct {
	// Method is the mover's name in object names and in the metrics' method label:
	// "rsync-tls", "rsync".
	Method string
	// Controller is the app.kubernetes.io/name label of the controller's pods in
	// cluster.ControllerNamespace; its metrics Service is <Controller>-metrics.
	Controller string
	// Field is the name of the mover's block in spec and status: "rsyncTLS", "rsync".
	Field string
	// KeysField is the field that names the key Secret, in the source's spec block and in
	// the destination's status block: "keySecret", "sshKeys".
	KeysField string
	// KeyFields are the keys of the Secret the destination publishes for its source, which
	// the user copies to the source's namespace.
	KeyFields []string
	// SecretPrefixes name the Secrets the controller generates for a destination (prefix +
	// destination name) when the user gives no keys, all owned by it; the first is the one it
	// publishes for the source.
	SecretPrefixes []string
}

// GeneratedSecrets names the Secrets the controller generates for the destination rd.
func (m Mover) GeneratedSecrets(rd string) []string {
	names := make([]string, len(m.SecretPrefixes))
	for i, p := range m.SecretPrefixes {
		names[i] = p + rd
	}
	return names
}

// Endpoint is what a destination publishes in its status for its source.
type Endpoint struct {
	Address string
	// Port is nil when the status has none: the source then uses the mover's default port.
	Port *int32
	// KeySecret names the Secret in the destination's namespace that the source must use;
	// empty when none was generated (the user gave the keys).
	KeySecret string
}

// Published reads what rd's status publishes for its source; ok is false until it has an
// address.
func (m Mover) Published(rd *v1alpha1.ReplicationDestination) (ep Endpoint, ok bool) {
	if rd.Status == nil {
		return ep, false
	}
	st := toMap(rd.Status)
	if ep.Address, _, _ = unstructured.NestedString(st, m.Field, "address"); ep.Address == "" {
		return ep, false
	}
	if p, found, _ := unstructured.NestedInt64(st, m.Field, "port"); found {
		ep.Port = ptr.To(int32(p))
	}
	ep.KeySecret, _, _ = unstructured.NestedString(st, m.Field, m.KeysField)
	return ep, true
}

// SetDestination gives rd the mover's block with these volume options.
func (m Mover) SetDestination(rd *v1alpha1.ReplicationDestination, opts v1alpha1.ReplicationDestinationVolumeOptions) {
	setField(rd, toMap(&opts), "spec", m.Field)
}

// SetSource gives rs the mover's block with these volume options.
func (m Mover) SetSource(rs *v1alpha1.ReplicationSource, opts v1alpha1.ReplicationSourceVolumeOptions) {
	setField(rs, toMap(&opts), "spec", m.Field)
}

// SetCopyMethod sets the copy method in rs's block.
func (m Mover) SetCopyMethod(rs *v1alpha1.ReplicationSource, method v1alpha1.CopyMethodType) {
	setField(rs, string(method), "spec", m.Field, "copyMethod")
}

// Connect points rs at a destination's endpoint, authenticating with keySecret (a Secret in
// rs's namespace).
func (m Mover) Connect(rs *v1alpha1.ReplicationSource, ep Endpoint, keySecret string) {
	setField(rs, ep.Address, "spec", m.Field, "address")
	if ep.Port != nil {
		setField(rs, int64(*ep.Port), "spec", m.Field, "port")
	}
	setField(rs, keySecret, "spec", m.Field, m.KeysField)
}

// toMap returns the JSON form of one of the API's objects.
func toMap(obj any) map[string]any {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		panic(fmt.Sprintf("converting %T: %v", obj, err))
	}
	return m
}

// setField sets the field at path (JSON names) of obj to value, a JSON value (string, int64,
// map[string]any, ...).
func setField[T any](obj *T, value any, path ...string) {
	m := toMap(obj)
	if err := unstructured.SetNestedField(m, value, path...); err != nil {
		panic(fmt.Sprintf("setting %s of %T: %v", strings.Join(path, "."), obj, err))
	}
	var updated T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &updated); err != nil {
		panic(fmt.Sprintf("setting %s of %T: %v", strings.Join(path, "."), obj, err))
	}
	*obj = updated
}

// Role is the side of a replication.
type Role string

// The two sides, as spelled in object names.
const (
	Source      Role = "src"
	Destination Role = "dst"
)

// maxNameLength is Kubernetes' limit for label values and Service names.
const maxNameLength = 63

// ShortName is prefix+name, or prefix and the 8-hex-digit CRC-32 (IEEE) of name when that is
// longer than 63 characters: the reference's scheme, which users' runbooks rely on.
func ShortName(prefix, name string) string {
	if len(prefix)+len(name) <= maxNameLength {
		return prefix + name
	}
	return fmt.Sprintf("%s%08x", prefix, crc32.ChecksumIEEE([]byte(name)))
}

// JobName names the mover Job of one side of a replication (and, for the destination, its
// Service).
func (m Mover) JobName(role Role, owner string) string {
	return ShortName("volsync-"+m.Method+"-"+string(role)+"-", owner)
}

// nsPrefix starts the names of a suite's namespaces: distinct per mover, so suites running at
// the same time on the one cluster are told apart (e2e-rsynctls-..., e2e-rsync-...).
func (m Mover) nsPrefix() string {
	return "e2e-" + strings.ReplaceAll(m.Method, "-", "") + "-"
}
