package cachedclient

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/pkg/common/clients"
	"github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// Start returns a Split over a cache of env's API server configured as the controllers'
// caches are. The cache runs until the test ends.
// extra are the controller's own kinds (app.Controller.Kinds).
func Start(tb testing.TB, env *testenv.Env, extra ...kinds.Kind) *clients.Split {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	opts := clients.CacheOptions(extra...)
	opts.Scheme = env.Scheme
	c, err := cache.New(env.Config, opts)
	if err != nil {
		tb.Fatalf("creating the cache: %v", err)
	}
	if err := clients.IndexFields(ctx, c); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		tb.Fatal("the cache did not sync")
	}
	copts := clients.ClientOptions()
	copts.Scheme = env.Scheme
	copts.Cache.Reader = c
	cl, err := client.New(env.Config, copts)
	if err != nil {
		tb.Fatalf("creating the client: %v", err)
	}
	s, err := clients.NewSplit(cl, env.Client, extra...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
