package syncthing

import (
	"fmt"
	"hash/crc32"

	"github.com/volsync-go/volsync/pkg/common/naming"
)

// Object names, the reference's (existing objects keep theirs), shortened when too long.
type names struct {
	// Deployment (volsync-<rs>, at most 63 characters: its ReplicaSets and pods derive theirs).
	Deployment string
	// Secret is the generated Secret (volsync-<rs>).
	Secret string
	// Config is the config PVC (volsync-<rs>-config).
	Config string
	// API and Data are the Services (volsync-<rs>-api / -data, or volsync-api-<crc32> /
	// volsync-data-<crc32> when longer than 63 characters).
	API, Data string
	// App is the pods' app.kubernetes.io/name (the name, or its crc32 when too long).
	App string
}

func namesOf(rs string) names {
	return names{
		Deployment: naming.Short("volsync-", rs),
		Secret:     naming.Secret("volsync-", rs),
		Config:     naming.Secret("volsync-", rs+"-config"),
		API:        serviceName(rs, "api"),
		Data:       serviceName(rs, "data"),
		App:        naming.Short("", rs),
	}
}

func serviceName(rs, what string) string {
	if n := "volsync-" + rs + "-" + what; len(n) <= naming.MaxLength {
		return n
	}
	return fmt.Sprintf("volsync-%s-%08x", what, crc32.ChecksumIEEE([]byte(rs)))
}
