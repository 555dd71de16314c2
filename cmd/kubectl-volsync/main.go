// Command kubectl-volsync is the VolSync kubectl plugin ("kubectl volsync"): it sets up
// replication between PVCs and migrations of local data into PVCs.
package main

import (
	"context"
	goflag "flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/cli"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := cli.New(cli.Options{Version: version, GoFlags: goflag.CommandLine})
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
