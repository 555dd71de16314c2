//go:build e2e

package rsync

import (
	"testing"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// The keys of the ssh key Secrets (reference section 3.1).
const (
	source         = "source"
	sourcePub      = "source.pub"
	destination    = "destination"
	destinationPub = "destination.pub"
)

// The Secrets a destination generates when it has no spec.rsync.sshKeys (reference Appendix A):
// what the source needs (published in status.rsync.sshKeys), what the destination's sshd
// needs, and both key pairs.
const (
	srcKeysPrefix  = "volsync-rsync-dst-src-"
	destKeysPrefix = "volsync-rsync-dst-dest-"
	mainKeysPrefix = "volsync-rsync-dst-main-"
)

// mover is rsync over ssh for the shared scenarios: spec.rsync, with the destination's
// address, port and source keys in status.rsync.
var mover = scenario.Mover{Method: "rsync", Controller: "volsync-rsync", Field: "rsync",
	KeysField: "sshKeys", KeyFields: []string{source, sourcePub, destinationPub},
	SecretPrefixes: []string{srcKeysPrefix, destKeysPrefix, mainKeysPrefix}}

// TestRsync runs the shared scenarios and this mover's own.
func TestRsync(t *testing.T) {
	scenario.Run(t, mover, scenario.Case{Name: "GeneratedKeys", Run: generatedKeys})
}
