package jobs

import (
	"testing"
	"time"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// testTimeout bounds one integration test against the real API server.
const testTimeout = 30 * time.Second

var cluster *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &cluster) }
