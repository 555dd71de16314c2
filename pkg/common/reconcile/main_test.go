package reconcile

import (
	"testing"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }
