package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/contract/syncthing"
	"github.com/volsync-go/volsync/images/internal/moverlog"
)

// ExecFunc replaces the process (syscall.Exec); tests of Main may pass another.
type ExecFunc func(argv0 string, argv, env []string) error

// versionTimeout bounds `syncthing --version`.
const versionTimeout = 30 * time.Second

// Main runs the preflight for args and replaces the process with syncthing (exec). It returns
// only when it could not: then it writes a failed result (images/contract/result), prints the
// reason as the only line on stderr and returns the exit code.
func Main(args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer, execve ExecFunc) int {
	var secrets moverlog.Secrets
	secrets.AddValue(getenv(syncthing.EnvAPIKey))
	redact := moverlog.NewRedactor(secrets)
	log := moverlog.NewLogger(stdout, redact)
	fin := moverlog.NewFinisher(getenv, redact, log, stderr)
	fail := func(err error, code int) int {
		log.Printf("ERROR: %v", err)
		return fin.Finish(result.Result{Outcome: result.OutcomeFailed, Error: err.Error()}, code)
	}
	c, err := LoadConfig(args, getenv, environ)
	if err != nil {
		code := ExitFailed
		if errors.As(err, &usageError{}) {
			code = ExitUsage
		}
		return fail(err, code)
	}
	did, err := preflight(c)
	if err != nil {
		return fail(err, ExitFailed)
	}
	version, err := syncthingVersion(c)
	if err != nil {
		return fail(err, ExitFailed)
	}
	log.Printf("Starting syncthing %s: folder %s at %s (%s), home %s (%s), API https://%s, peers %s, uid %d gid %d, %s",
		version, syncthing.FolderID, c.DataDir, did.ignores, c.ConfigDir, did.config, c.APIAddress, c.ListenAddress,
		os.Geteuid(), os.Getegid(), privilege(c))
	err = execve(c.Syncthing, c.Args(), c.Env)
	return fail(fmt.Errorf("starting %s: %w", c.Syncthing, err), ExitFailed)
}

// done says what the preflight did, for the log.
type done struct{ config, ignores string }

// preflight prepares syncthing's home and the folder: the directories writable, config.xml,
// .stignore, the API certificate.
func preflight(c Config) (done, error) {
	var d done
	if err := checkWritable("configuration directory", c.ConfigDir); err != nil {
		return d, err
	}
	if err := checkWritable("data directory", c.DataDir); err != nil {
		return d, err
	}
	var err error
	if d.config, err = ensureConfig(c); err != nil {
		return d, err
	}
	wrote, err := ensureIgnores(c.DataDir)
	if err != nil {
		return d, err
	}
	d.ignores = ".stignore kept"
	if wrote {
		d.ignores = ".stignore created"
	}
	return d, copyHTTPSCert(c)
}

// syncthingVersion asks the binary its version ("v1.30.0"); it also proves the binary runs.
func syncthingVersion(c Config) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), versionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Syncthing, "--version")
	cmd.Env = c.Env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", c.Syncthing, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return "", fmt.Errorf("%s --version printed %q", c.Syncthing, out)
	}
	return f[1], nil
}

func privilege(c Config) string {
	switch {
	case c.Privileged:
		return "privileged"
	case c.PrivilegedIgnored:
		return "unprivileged (PRIVILEGED_MOVER=1 ignored: not root)"
	}
	return "unprivileged"
}
