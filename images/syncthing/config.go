package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/syncthing"
)

// Exit codes. A mover that starts syncthing never exits itself: syncthing replaces it, and
// the container's exit code is syncthing's.
const (
	// ExitFailed: the preflight failed (a missing variable, an unwritable directory, a bad
	// certificate ...); nothing was started.
	ExitFailed = 1
	// ExitUsage: no command, an unknown command, or a malformed address.
	ExitUsage = 2
)

// Defaults of the addresses (contract/syncthing.EnvAPIAddress, EnvListenAddress).
var (
	defaultAPIAddress    = "0.0.0.0:" + strconv.Itoa(syncthing.APIPort)
	defaultListenAddress = "tcp://0.0.0.0:" + strconv.Itoa(syncthing.DataPort)
)

// Tool is the syncthing binary's name, looked up in PATH.
const Tool = "syncthing"

// Config is the mover's configuration, from its arguments and environment.
type Config struct {
	DataDir   string
	ConfigDir string
	CertDir   string
	// APIAddress is where the REST API listens (host:port), always over HTTPS.
	APIAddress string
	// ListenAddress is where peers connect (a syncthing listen URL, tcp://host:port).
	ListenAddress string
	// Privileged: PRIVILEGED_MOVER is "1" and the mover runs as root.
	Privileged bool
	// PrivilegedIgnored: PRIVILEGED_MOVER is "1" but the mover is not root.
	PrivilegedIgnored bool
	Debug             bool
	// Syncthing is the binary found in PATH.
	Syncthing string
	// Env is syncthing's environment.
	Env []string
}

// usageError is an invocation the mover cannot run: nothing was done.
type usageError struct{ error }

// required are the variables the mover cannot run without (the reference's list); empty
// counts as missing.
var required = []string{syncthing.EnvDataDir, syncthing.EnvConfigDir, syncthing.EnvCertDir, syncthing.EnvAPIKey, mover.EnvPrivileged}

// LoadConfig reads the configuration. A missing variable is an error, a wrong command or a
// malformed address a usageError.
func LoadConfig(args []string, getenv func(string) string, environ []string) (Config, error) {
	switch {
	case len(args) == 0:
		return Config{}, usageError{fmt.Errorf("no command: usage: volsync-syncthing %s", syncthing.CommandRun)}
	case len(args) > 1 || args[0] != syncthing.CommandRun:
		return Config{}, usageError{fmt.Errorf("unknown command %q: usage: volsync-syncthing %s", strings.Join(args, " "), syncthing.CommandRun)}
	}
	for _, name := range required {
		if getenv(name) == "" {
			return Config{}, fmt.Errorf("%s must be defined", name)
		}
	}
	c := Config{
		DataDir:       getenv(syncthing.EnvDataDir),
		ConfigDir:     getenv(syncthing.EnvConfigDir),
		CertDir:       getenv(syncthing.EnvCertDir),
		APIAddress:    orDefault(getenv(syncthing.EnvAPIAddress), defaultAPIAddress),
		ListenAddress: orDefault(getenv(syncthing.EnvListenAddress), defaultListenAddress),
		Debug:         isTrue(getenv(mover.EnvDebug)),
	}
	if getenv(mover.EnvPrivileged) == "1" {
		c.Privileged = os.Geteuid() == 0
		c.PrivilegedIgnored = !c.Privileged
	}
	if _, _, err := net.SplitHostPort(c.APIAddress); err != nil || strings.Contains(c.APIAddress, "/") {
		return c, usageError{fmt.Errorf("%s %q is not host:port", syncthing.EnvAPIAddress, c.APIAddress)}
	}
	if u, err := url.Parse(c.ListenAddress); err != nil || u.Scheme == "" || u.Host == "" || strings.ContainsAny(c.ListenAddress, " ,<>&") {
		return c, usageError{fmt.Errorf("%s %q is not a listen URL like %s", syncthing.EnvListenAddress, c.ListenAddress, defaultListenAddress)}
	}
	var err error
	if c.Syncthing, err = exec.LookPath(Tool); err != nil {
		return c, fmt.Errorf("%s not found in PATH: %w", Tool, err)
	}
	c.Env = syncthingEnv(environ)
	return c, nil
}

// syncthingEnv is syncthing's environment: the mover's, with the reference's settings (no
// restarts, no upgrades, Go's crypto/sha256 for FIPS builds), HOME set (the root filesystem
// is read-only; syncthing's home is --home) and STMONITORED.
//
// STMONITORED=yes is what syncthing's monitor process (which `syncthing serve` otherwise always
// starts, even with --no-restart: it only stops restarting its child) sets for the child it
// runs: syncthing then runs in this very process, PID 1 of the container, and handles SIGTERM
// itself (a clean stop, exit 0). One process instead of two; Kubernetes restarts the container.
func syncthingEnv(environ []string) []string {
	fixed := []string{"STNORESTART=1", "STNOUPGRADE=1", "STHASHING=standard", "STMONITORED=yes"}
	env := make([]string, 0, len(environ)+len(fixed)+1)
	home := false
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if slices.ContainsFunc(fixed, func(f string) bool { return strings.HasPrefix(f, name+"=") }) || (name == "HOME" && value == "") {
			continue
		}
		home = home || name == "HOME"
		env = append(env, kv)
	}
	env = append(env, fixed...)
	if !home {
		env = append(env, "HOME="+mover.TmpDir)
	}
	return env
}

// Args is syncthing's command line (argv, the binary's name first).
func (c Config) Args() []string {
	args := []string{Tool, "serve",
		"--home=" + c.ConfigDir,
		"--no-browser", "--no-restart", "--no-upgrade", "--no-default-folder", "--skip-port-probing",
		// The API address follows the environment on every start without touching config.xml
		// (syncthing keeps the override in memory, as STGUIADDRESS), always over HTTPS.
		"--gui-address=https://" + c.APIAddress,
	}
	if c.Debug {
		args = append(args, "--verbose")
	}
	return args
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func isTrue(v string) bool { return v == "1" || strings.EqualFold(v, "true") }
