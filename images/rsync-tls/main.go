package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/rsynctls"
)

const usage = "usage: rsync-tls server|client"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	logger := rsynctls.NewLogger(os.Stdout)
	resultPath := result.Path()
	fail := func(code int, err error) int {
		r := result.Result{Outcome: result.OutcomeFailed, Error: err.Error()}
		if werr := result.Write(resultPath, r); werr != nil {
			logger.Printf("Could not write the result: %v", werr)
		}
		fmt.Fprintln(os.Stderr, oneLine(r.Error))
		return code
	}
	if len(args) != 1 {
		return fail(rsynctls.ExitUsage, errors.New(usage))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var r result.Result
	switch args[0] {
	case "server":
		cfg, err := rsynctls.LoadServerConfig(os.Getenv)
		if err != nil {
			return fail(rsynctls.ExitUsage, err)
		}
		r = rsynctls.RunServer(ctx, cfg, logger)
	case "client":
		cfg, err := rsynctls.LoadClientConfig(os.Getenv)
		if err != nil {
			return fail(rsynctls.ExitUsage, err)
		}
		r = rsynctls.RunClient(ctx, cfg, logger)
	default:
		return fail(rsynctls.ExitUsage, fmt.Errorf("unknown mode %q; %s", args[0], usage))
	}
	if err := result.Write(resultPath, r); err != nil {
		logger.Printf("Could not write the result: %v", err)
	}
	if !r.Succeeded() {
		fmt.Fprintln(os.Stderr, oneLine(r.Error))
		return rsynctls.ExitFailed
	}
	return rsynctls.ExitOK
}

func oneLine(s string) string {
	for i, c := range s {
		if c == '\n' || c == '\r' {
			return s[:i]
		}
	}
	return s
}
