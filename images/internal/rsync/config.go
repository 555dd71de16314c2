package rsync

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/result"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid configuration")

// Common is what every mode of every rsync mover reads from its environment.
type Common struct {
	DataDir string
	// ResultPath is where the JSON result goes (the termination message).
	ResultPath string
	Debug      bool
	// Privileged is true when running as uid 0: ownership is preserved only then.
	Privileged bool
}

// LoadCommon reads the settings every mover shares (images/contract/mover).
func LoadCommon(getenv func(string) string) Common {
	return Common{
		DataDir:    OrDefault(getenv(mover.EnvDataDir), mover.DataDir),
		ResultPath: OrDefault(getenv(result.PathEnv), result.DefaultPath),
		Debug:      getenv(mover.EnvDebug) == "1" || strings.EqualFold(getenv(mover.EnvDebug), "true"),
		Privileged: os.Geteuid() == 0,
	}
}

// Destination is where a source connects.
type Destination struct {
	// Address is a host name or an IP address (IPv6 without brackets).
	Address string
	Port    int
}

// HostPort is host:port without brackets (stunnel's form).
func (d Destination) HostPort() string { return d.Address + ":" + strconv.Itoa(d.Port) }

// String is the destination as people write it (IPv6 in brackets).
func (d Destination) String() string { return net.JoinHostPort(d.Address, strconv.Itoa(d.Port)) }

// LoadDestination reads DESTINATION_ADDRESS (required; IPv6 with or without brackets) and
// DESTINATION_PORT (defaultPort when unset).
func LoadDestination(getenv func(string) string, defaultPort int) (Destination, error) {
	var d Destination
	addr := strings.TrimSpace(getenv(mover.EnvDestinationAddress))
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if addr == "" {
		return d, fmt.Errorf("%w: %s must name the destination", ErrConfig, mover.EnvDestinationAddress)
	}
	if strings.ContainsAny(addr, " \t\r\n/@'\"\\") || strings.HasPrefix(addr, "-") {
		return d, fmt.Errorf("%w: %s %q is not a host name or IP address", ErrConfig, mover.EnvDestinationAddress, addr)
	}
	d.Address = addr
	port, err := Port(mover.EnvDestinationPort, getenv(mover.EnvDestinationPort), defaultPort)
	if err != nil {
		return d, err
	}
	d.Port = port
	return d, nil
}

// LoadRetryDelay reads MOVER_RETRY_DELAY (DefaultRetryDelay when unset).
func LoadRetryDelay(getenv func(string) string) (time.Duration, error) {
	v := getenv(mover.EnvRetryDelay)
	if v == "" {
		return DefaultRetryDelay, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: %s %q is not a duration", ErrConfig, mover.EnvRetryDelay, v)
	}
	return d, nil
}

// Port parses the TCP port in variable name (def when empty).
func Port(name, v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%w: %s %q is not a TCP port", ErrConfig, name, v)
	}
	return p, nil
}

// OrDefault is v, or def when v is empty.
func OrDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// PrivateDir makes a directory only this user may enter, in TMPDIR, for a mover's generated
// files (keys, configurations). The caller removes it.
func PrivateDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("creating temporary directory (is TMPDIR writable?): %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// CheckDataDir fails unless dir is an existing directory.
func CheckDataDir(dir string) error {
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
