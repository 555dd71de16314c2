//go:build e2e

package syncthing

import (
	"testing"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// TestSyncthing runs the cases in parallel, each in namespaces of its own, the longest first.
func TestSyncthing(t *testing.T) {
	scenario.RunParallel(t,
		scenario.Case{Name: "ThreePeers", Run: threePeers},
		scenario.Case{Name: "Introducer", Run: introducer},
		scenario.Case{Name: "Paused", Run: paused},
		scenario.Case{Name: "Privileged", Run: privileged},
		scenario.Case{Name: "LongNames", Run: longNames},
		scenario.Case{Name: "BadPeers", Run: badPeers},
	)
}
