package rsynctls

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/result"
)

// Environment variables and paths: the contract with the controller (see images/rsync-tls/README.md).
const (
	EnvDataDir            = "DATA_DIR"
	EnvKeyFile            = "KEY_FILE"
	EnvListenPort         = "LISTEN_PORT"
	EnvDestinationAddress = "DESTINATION_ADDRESS"
	EnvDestinationPort    = "DESTINATION_PORT"
	EnvDebug              = "DEBUG_MOVER"
	EnvRetryDelay         = "MOVER_RETRY_DELAY"

	DefaultDataDir = "/data"
	DefaultKeyFile = "/keys/psk.txt"
	DefaultPort    = 8000
)

// Retry and timing policy.
const (
	// MaxAttempts bounds the client's tries when the connection fails for a transient reason.
	MaxAttempts = 5
	// DefaultRetryDelay is the wait after the first failed attempt; it doubles after each one
	// (2s, 4s, 8s, 16s: about 30 s in all before giving up).
	DefaultRetryDelay = 2 * time.Second
	// RsyncIOTimeout ends a transfer when no data moves for this long (both ends).
	RsyncIOTimeout = 5 * time.Minute
	// DonePollInterval is how often the server looks for the source's completion marker.
	DonePollInterval = 200 * time.Millisecond
	// DrainTimeout bounds the server's wait for open connections to close after the source
	// reported completion, so a stuck peer cannot keep a finished destination alive.
	DrainTimeout = 30 * time.Second
)

// Exit codes of the entrypoint.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid configuration")

// Common is what both roles need.
type Common struct {
	DataDir string
	KeyFile string
	// ResultPath is where the JSON result goes (the termination message).
	ResultPath string
	Debug      bool
	// Privileged is true when running as uid 0: ownership is preserved only then.
	Privileged bool
}

// ServerConfig configures the destination.
type ServerConfig struct {
	Common
	ListenPort int
}

// ClientConfig configures the source.
type ClientConfig struct {
	Common
	DestinationAddress string
	DestinationPort    int
	RetryDelay         time.Duration
}

// Destination is host:port as stunnel wants it (IPv6 without brackets).
func (c ClientConfig) Destination() string {
	return c.DestinationAddress + ":" + strconv.Itoa(c.DestinationPort)
}

// DisplayDestination is the destination as people write it (IPv6 in brackets).
func (c ClientConfig) DisplayDestination() string {
	return net.JoinHostPort(c.DestinationAddress, strconv.Itoa(c.DestinationPort))
}

func loadCommon(getenv func(string) string) Common {
	return Common{
		DataDir:    orDefault(getenv(EnvDataDir), DefaultDataDir),
		KeyFile:    orDefault(getenv(EnvKeyFile), DefaultKeyFile),
		ResultPath: orDefault(getenv(result.PathEnv), result.DefaultPath),
		Debug:      getenv(EnvDebug) == "1" || strings.EqualFold(getenv(EnvDebug), "true"),
		Privileged: os.Geteuid() == 0,
	}
}

// LoadServerConfig reads the destination's configuration from the environment.
func LoadServerConfig(getenv func(string) string) (ServerConfig, error) {
	c := ServerConfig{Common: loadCommon(getenv)}
	port, err := parsePort(EnvListenPort, getenv(EnvListenPort))
	if err != nil {
		return c, err
	}
	c.ListenPort = port
	return c, nil
}

// LoadClientConfig reads the source's configuration from the environment.
func LoadClientConfig(getenv func(string) string) (ClientConfig, error) {
	c := ClientConfig{Common: loadCommon(getenv), RetryDelay: DefaultRetryDelay}
	addr := strings.TrimSpace(getenv(EnvDestinationAddress))
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if addr == "" {
		return c, fmt.Errorf("%w: %s must name the destination", ErrConfig, EnvDestinationAddress)
	}
	if strings.ContainsAny(addr, " \t\r\n/") {
		return c, fmt.Errorf("%w: %s %q is not a host name or IP address", ErrConfig, EnvDestinationAddress, addr)
	}
	c.DestinationAddress = addr
	port, err := parsePort(EnvDestinationPort, getenv(EnvDestinationPort))
	if err != nil {
		return c, err
	}
	c.DestinationPort = port
	if v := getenv(EnvRetryDelay); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return c, fmt.Errorf("%w: %s %q is not a duration", ErrConfig, EnvRetryDelay, v)
		}
		c.RetryDelay = d
	}
	return c, nil
}

func parsePort(name, v string) (int, error) {
	if v == "" {
		return DefaultPort, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%w: %s %q is not a TCP port", ErrConfig, name, v)
	}
	return p, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// checkDataDir fails unless dir is an existing directory.
func checkDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if strings.ContainsAny(dir, "\r\n") {
		return fmt.Errorf("data directory %q: line breaks are not supported", dir)
	}
	return nil
}
