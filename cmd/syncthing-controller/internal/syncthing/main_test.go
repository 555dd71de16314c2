package syncthing

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

const (
	// testImage is the mover image the controller under test puts in its Deployments.
	testImage = "localhost/syncthing:test"
	// testPoll is how often the controller polls syncthing in these tests.
	testPoll = time.Second
)

// h runs the syncthing controller as deployed (its component's RBAC) with a fake clock. Its
// API clients dial through routes: a Service's address to a real syncthing on loopback.
var h *lifecycle.Harness

// moverBin is the mover entrypoint (images/syncthing), built once.
var moverBin string

// routes maps "<API Service ClusterIP>:8384" to the loopback address of the syncthing playing
// that Service's pod.
var routes sync.Map

func dial(ctx context.Context, network, address string) (net.Conn, error) {
	to, ok := routes.Load(address)
	if !ok {
		return nil, fmt.Errorf("no syncthing plays %s", address)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to.(string))
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "syncthing-controller-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	moverBin = filepath.Join(dir, "volsync-syncthing")
	build := exec.Command("go", "build", "-o", moverBin, "github.com/volsync-go/volsync/images/syncthing")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the mover:", err)
		os.Exit(1)
	}
	if _, err := exec.LookPath("syncthing"); err != nil {
		// make test puts it on PATH (images/hack/gotools.sh syncthing).
		fmt.Fprintln(os.Stderr, "syncthing is not on PATH: run images/hack/gotools.sh syncthing and add its output to PATH")
		os.Exit(1)
	}
	b := NewBuilder(testImage, dial)
	b.Poll = testPoll
	lifecycle.Main(m, lifecycle.Config{
		Builder: b, Component: "syncthing", Kinds: []kinds.Kind{kinds.Deployment},
		SourceBlock: func(rs *v1alpha1.ReplicationSource, _ v1alpha1.ReplicationSourceVolumeOptions) {
			rs.Spec.Syncthing = &v1alpha1.ReplicationSourceSyncthingSpec{}
		},
		// Syncthing has no ReplicationDestination.
		DestinationBlock: func(*v1alpha1.ReplicationDestination, v1alpha1.ReplicationDestinationVolumeOptions) {},
	}, &h)
}
