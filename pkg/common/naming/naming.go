package naming

import (
	"fmt"
	"hash/crc32"
)

// MaxLength is the longest name or label value this package returns.
const MaxLength = 63

// Short returns prefix+name, or prefix followed by the 8-hex-digit CRC-32 of name when that is
// longer than MaxLength (the reference implementation's scheme, so existing objects keep
// their names).
func Short(prefix, name string) string { return shorten(prefix, name, MaxLength) }

// MaxObjectName is the longest name of an object that is not a label value (a DNS subdomain:
// Secrets, PVCs, VolumeSnapshots).
const MaxObjectName = 253

// Secret returns prefix+name, or prefix followed by the CRC-32 of name when that is longer
// than an object name may be.
func Secret(prefix, name string) string { return shorten(prefix, name, MaxObjectName) }

func shorten(prefix, name string, limit int) string {
	if len(prefix)+len(name) <= limit {
		return prefix + name
	}
	return fmt.Sprintf("%s%08x", prefix, crc32.ChecksumIEEE([]byte(name)))
}

// Role is the side of a replication an object belongs to.
type Role string

const (
	// Source is the ReplicationSource side.
	Source Role = "source"
	// Destination is the ReplicationDestination side.
	Destination Role = "destination"
)

// Abbrev is the short form of a role used in object names: src or dst.
func (r Role) Abbrev() string {
	if r == Source {
		return "src"
	}
	return "dst"
}

// SourcePiT names the point-in-time PVC and VolumeSnapshot of a ReplicationSource.
func SourcePiT(rs string) string { return "volsync-" + rs + "-src" }

// MoverServiceAccount names the ServiceAccount, Role and RoleBinding VolSync creates for an
// object's mover.
func MoverServiceAccount(role Role, obj string) string {
	return "volsync-" + role.Abbrev() + "-" + obj
}

// Job names a mover Job: volsync-<mover>-<src|dst>-<obj>, shortened.
func Job(mover string, role Role, obj string) string {
	if mover == "" {
		return Short("volsync-"+role.Abbrev()+"-", obj)
	}
	return Short("volsync-"+mover+"-"+role.Abbrev()+"-", obj)
}

// AppName is the app.kubernetes.io/name label value of an object's mover pod.
func AppName(role Role, obj string) string {
	return Short(role.Abbrev()+"-", obj)
}
