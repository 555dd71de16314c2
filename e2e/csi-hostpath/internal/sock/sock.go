package sock

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// ParseEndpoint returns the socket path of a unix:// endpoint ("unix:///run/csi.sock" or
// "unix://run/csi.sock"); a bare absolute path is accepted too.
func ParseEndpoint(endpoint string) (string, error) {
	p := endpoint
	switch {
	case strings.HasPrefix(endpoint, "unix://"):
		p = strings.TrimPrefix(endpoint, "unix://")
	case strings.HasPrefix(endpoint, "unix:"):
		p = strings.TrimPrefix(endpoint, "unix:")
	case strings.Contains(endpoint, "://"):
		return "", fmt.Errorf("endpoint %q: only unix sockets are supported", endpoint)
	}
	if p == "" {
		return "", fmt.Errorf("endpoint %q: empty socket path", endpoint)
	}
	if !filepath.IsAbs(p) {
		p = "/" + p
	}
	return filepath.Clean(p), nil
}

// Listen creates the socket's directory, removes a stale socket file left by an earlier run
// and listens on path. It refuses to remove anything that is not a socket.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listen on %s: exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	// Close removes the socket file (net.UnixListener unlinks on close by default).
	return l, nil
}
