//go:build e2e

package rsynctls

import (
	"testing"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// pskKey is the key of the pre-shared key ("<identity>:<hex>") in its Secret.
const pskKey = "psk.txt"

// mover is rsync-TLS for the shared scenarios: spec.rsyncTLS, a pre-shared key in one Secret
// that a destination generates as volsync-rsync-tls-<rd> and publishes in
// status.rsyncTLS.keySecret beside its address.
var mover = scenario.Mover{Method: "rsync-tls", Controller: "volsync-rsync-tls", Field: "rsyncTLS",
	KeysField: "keySecret", KeyFields: []string{pskKey}, SecretPrefixes: []string{"volsync-rsync-tls-"}}

// TestRsyncTLS runs the shared scenarios and this mover's own.
func TestRsyncTLS(t *testing.T) {
	scenario.Run(t, mover,
		scenario.Case{Name: "PreSharedKeyAndWrongKey", Run: preSharedKeyAndWrongKey},
		scenario.Case{Name: "UnreadableFilesAndMoverSecurityContext", Run: unreadableFilesAndMoverSecurityContext},
	)
}
