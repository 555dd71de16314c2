package main

import (
	"os"

	"github.com/volsync-go/volsync/images/internal/rsync"
)

func main() {
	// sshd's forced command: no result, no log on stdout (it is the ssh channel).
	if len(os.Args) == 3 && os.Args[1] == CommandMode {
		os.Exit(runCommand(os.Args[2], os.Stderr))
	}
	os.Exit(rsync.Main("volsync-rsync", map[string]rsync.Mode{
		"source":      rsync.NewMode(LoadSourceConfig, RunSource),
		"destination": rsync.NewMode(LoadDestinationConfig, RunDestination),
	}, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
