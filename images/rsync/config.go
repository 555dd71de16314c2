package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/images/internal/rsync"
)

// Timing.
const (
	// ConnectTimeout bounds the source's TCP connect and ssh handshake.
	ConnectTimeout = 30 * time.Second
	// ServerAliveInterval and ServerAliveCountMax end an ssh connection whose peer is gone
	// (2 minutes without an answer); rsync's own I/O timeout covers a stalled transfer.
	ServerAliveInterval = 30 * time.Second
	ServerAliveCountMax = 4
	// DrainTimeout bounds the destination's wait for open connections to end after the source
	// sent shutdown, so a stuck peer cannot keep a finished destination alive.
	DrainTimeout = 30 * time.Second
	// PollInterval is how often the destination looks at its sshd while it waits.
	PollInterval = 200 * time.Millisecond
)

// SourceConfig configures the source.
type SourceConfig struct {
	rsync.Common
	KeysDir     string
	Destination rsync.Destination
	// User is the login name on the destination.
	User string
	// Path is where the data goes on the destination.
	Path       string
	RetryDelay time.Duration
}

// DestinationConfig configures the destination.
type DestinationConfig struct {
	rsync.Common
	KeysDir    string
	ListenPort int
	// Users are login names accepted from the first connection on, besides root and the
	// mover's own name (others are learned on first use: see README.md).
	Users []string
}

// LoadSourceConfig reads the source's configuration from the environment.
func LoadSourceConfig(getenv func(string) string) (SourceConfig, error) {
	c := SourceConfig{
		Common:  rsync.LoadCommon(getenv),
		KeysDir: rsync.OrDefault(getenv(mover.EnvKeysDir), mover.KeysDir),
		User:    rsync.OrDefault(strings.TrimSpace(getenv(rsyncc.EnvSSHUser)), rsyncc.DefaultUser),
		Path:    rsync.OrDefault(getenv(rsyncc.EnvDestinationPath), rsyncc.DefaultPath),
	}
	var err error
	if c.Destination, err = rsync.LoadDestination(getenv, rsyncc.DefaultPort); err != nil {
		return c, err
	}
	if !validLoginName(c.User) {
		return c, fmt.Errorf("%w: %s %q is not a login name (letters, digits, '.', '_', '-', at most %d characters)", rsync.ErrConfig, rsyncc.EnvSSHUser, c.User, maxLoginName)
	}
	if strings.ContainsAny(c.Path, "\r\n\x00") {
		return c, fmt.Errorf("%w: %s %q: line breaks are not supported", rsync.ErrConfig, rsyncc.EnvDestinationPath, c.Path)
	}
	c.RetryDelay, err = rsync.LoadRetryDelay(getenv)
	return c, err
}

// LoadDestinationConfig reads the destination's configuration from the environment.
func LoadDestinationConfig(getenv func(string) string) (DestinationConfig, error) {
	c := DestinationConfig{
		Common:  rsync.LoadCommon(getenv),
		KeysDir: rsync.OrDefault(getenv(mover.EnvKeysDir), mover.KeysDir),
	}
	var err error
	if c.ListenPort, err = rsync.Port(mover.EnvListenPort, getenv(mover.EnvListenPort), rsyncc.ListenPort); err != nil {
		return c, err
	}
	for _, u := range strings.FieldsFunc(getenv(rsyncc.EnvSSHUser), func(r rune) bool { return r == ',' || r == ' ' }) {
		if !validLoginName(u) {
			return c, fmt.Errorf("%w: %s: %q is not a login name", rsync.ErrConfig, rsyncc.EnvSSHUser, u)
		}
		c.Users = append(c.Users, u)
	}
	return c, nil
}

// keyPath is a key of the mounted Secret.
func keyPath(keysDir, name string) string { return filepath.Join(keysDir, name) }
