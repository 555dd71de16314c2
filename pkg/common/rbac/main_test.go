package rbac

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

const testTimeout = 30 * time.Second

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func testContext(t *testing.T) context.Context { return testenv.Context(t, testTimeout) }

func newNamespace(ctx context.Context, t *testing.T) string { return env.Namespace(ctx, t, "rbac") }

func newOwner(ctx context.Context, t *testing.T, ns, name string) client.Object {
	return env.StandInOwner(ctx, t, ns, name)
}

type countingClient = testenv.CountingClient
