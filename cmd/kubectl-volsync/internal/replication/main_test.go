package replication

import (
	"fmt"
	"os"
	"testing"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// env is a real kube-apiserver with the CRDs; no controller runs: the tests play the
// controllers' part by writing the status a controller would.
var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
