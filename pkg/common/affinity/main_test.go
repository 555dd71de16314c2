package affinity

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

const (
	testTimeout  = 30 * time.Second
	pollInterval = 20 * time.Millisecond
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func testContext(t *testing.T) context.Context { return testenv.Context(t, testTimeout) }

func newNamespace(ctx context.Context, t *testing.T) string { return env.Namespace(ctx, t, "affinity") }

var (
	podsOnce   sync.Once
	podsReader client.Reader
	podsErr    error
)

// podReader is a client like the controller's: Pods from a cache of stripped pods indexed by
// claim (the transform and index under test), Nodes read live. It lives as long as the test
// binary.
func podReader(t *testing.T) client.Reader {
	t.Helper()
	podsOnce.Do(func() {
		ctx := context.Background()
		var c cache.Cache
		c, podsErr = cache.New(env.Config, cache.Options{Scheme: env.Scheme,
			ByObject: map[client.Object]cache.ByObject{&corev1.Pod{}: {Transform: StripPod}}})
		if podsErr != nil {
			return
		}
		if podsErr = c.IndexField(ctx, &corev1.Pod{}, ClaimIndex, IndexClaims); podsErr != nil {
			return
		}
		go func() { _ = c.Start(ctx) }()
		c.WaitForCacheSync(ctx)
		podsReader, podsErr = client.New(env.Config, client.Options{Scheme: env.Scheme,
			Cache: &client.CacheOptions{Reader: c, DisableFor: []client.Object{&corev1.Node{}}}})
	})
	if podsErr != nil {
		t.Fatalf("starting the pod cache: %v", podsErr)
	}
	return podsReader
}
