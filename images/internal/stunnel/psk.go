package stunnel

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/volsync-go/volsync/images/contract/psk"
)

// maxPSKFileBytes bounds the secret file read (a Kubernetes Secret is at most 1 MiB).
const maxPSKFileBytes = 1 << 20

// ParsePSKFile reads a key file in stunnel's PSKsecrets format, checked by psk.Parse: the same
// check the controller applies to a user's key Secret, so a key it accepted never fails here.
func ParsePSKFile(path string) ([]psk.PSK, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading PSK file %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxPSKFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading PSK file %s: %w", path, err)
	}
	if len(data) > maxPSKFileBytes {
		return nil, fmt.Errorf("PSK file %s: %w: larger than %d bytes", path, psk.ErrMalformed, maxPSKFileBytes)
	}
	psks, err := psk.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("PSK file %s: %w", path, err)
	}
	return psks, nil
}

// WriteSecrets writes psks in stunnel's PSKsecrets format, readable by this user only (stunnel
// refuses a secrets file that others can read).
func WriteSecrets(path string, psks []psk.PSK) error {
	var b strings.Builder
	for _, p := range psks {
		b.WriteString(p.Identity + ":" + p.Key + "\n")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
