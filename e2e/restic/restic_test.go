//go:build e2e

package restic

import (
	"testing"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/s3"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// The suite's S3 servers, started by TestRestic before its cases: one plain HTTP, one HTTPS
// with a certificate signed by a CA of its own. Each case uses its own bucket.
var plain, secure *s3.Server

// TestRestic starts the S3 servers and runs the cases in parallel, each in namespaces of its
// own, the longest first; the servers go when every case is done.
func TestRestic(t *testing.T) {
	plain, secure = s3.DeployPlainAndTLS(t, "e2e-restic")
	scenario.RunParallel(t,
		scenario.Case{Name: "StaleLock", Run: staleLock},
		scenario.Case{Name: "RestoreAsOf", Run: restoreAsOf},
		scenario.Case{Name: "CustomCA", Run: customCA},
		scenario.Case{Name: "BackupDirectRestore", Run: backupDirectRestore},
		scenario.Case{Name: "CleanupLongNames", Run: cleanupLongNames},
		scenario.Case{Name: "PVCRepositoryContinuous", Run: pvcRepositoryContinuous},
		scenario.Case{Name: "CopyTriggerPrevious", Run: copyTriggerPrevious},
		scenario.Case{Name: "Privileged", Run: privileged},
		scenario.Case{Name: "EmptyRepository", Run: emptyRepository},
	)
}
