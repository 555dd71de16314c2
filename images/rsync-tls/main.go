package main

import (
	"os"

	"github.com/volsync-go/volsync/images/internal/rsync"
)

func main() {
	os.Exit(rsync.Main("rsync-tls", map[string]rsync.Mode{
		"server": rsync.NewMode(LoadServerConfig, RunServer),
		"client": rsync.NewMode(LoadClientConfig, RunClient),
	}, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
