package affinity

import (
	"context"
	"testing"
	"time"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

const testTimeout = 30 * time.Second

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func testContext(t *testing.T) context.Context { return testenv.Context(t, testTimeout) }

func newNamespace(ctx context.Context, t *testing.T) string { return env.Namespace(ctx, t, "affinity") }
