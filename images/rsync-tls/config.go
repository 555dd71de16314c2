package main

import (
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/internal/rsync"
)

// The contract with the controller (see README.md): the shared names are in
// images/contract/mover; these are this mover's own.
const (
	// EnvKeyFile overrides DefaultKeyFile.
	EnvKeyFile = "KEY_FILE"

	DefaultKeyFile = mover.KeysDir + "/psk.txt"
	DefaultPort    = 8000
)

// Timing of the server.
const (
	// DonePollInterval is how often the server looks for the source's completion marker.
	DonePollInterval = 200 * time.Millisecond
	// DrainTimeout bounds the server's wait for open connections to close after the source
	// reported completion, so a stuck peer cannot keep a finished destination alive.
	DrainTimeout = 30 * time.Second
)

// Common is what both roles need.
type Common struct {
	rsync.Common
	KeyFile string
}

// ServerConfig configures the destination.
type ServerConfig struct {
	Common
	ListenPort int
}

// ClientConfig configures the source.
type ClientConfig struct {
	Common
	Destination rsync.Destination
	RetryDelay  time.Duration
}

func loadCommon(getenv func(string) string) Common {
	return Common{Common: rsync.LoadCommon(getenv), KeyFile: rsync.OrDefault(getenv(EnvKeyFile), DefaultKeyFile)}
}

// LoadServerConfig reads the destination's configuration from the environment.
func LoadServerConfig(getenv func(string) string) (ServerConfig, error) {
	c := ServerConfig{Common: loadCommon(getenv)}
	var err error
	c.ListenPort, err = rsync.Port(mover.EnvListenPort, getenv(mover.EnvListenPort), DefaultPort)
	return c, err
}

// LoadClientConfig reads the source's configuration from the environment.
func LoadClientConfig(getenv func(string) string) (ClientConfig, error) {
	c := ClientConfig{Common: loadCommon(getenv)}
	var err error
	if c.Destination, err = rsync.LoadDestination(getenv, DefaultPort); err != nil {
		return c, err
	}
	c.RetryDelay, err = rsync.LoadRetryDelay(getenv)
	return c, err
}
