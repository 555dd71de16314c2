package stunnel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const (
	// MinKeyHexDigits is the shortest key accepted: stunnel needs at least 16 bytes of key.
	MinKeyHexDigits = 32
	// MaxIdentityLen is the longest PSK identity stunnel accepts.
	MaxIdentityLen = 128
	// maxPSKFileBytes bounds the secret file read (a Kubernetes Secret is at most 1 MiB).
	maxPSKFileBytes = 1 << 20
)

// ErrMalformedPSK is wrapped by every PSK parse error. Messages never contain key material.
var ErrMalformedPSK = errors.New("malformed PSK file")

// PSK is one stunnel pre-shared key: an identity and its key in hexadecimal.
type PSK struct {
	Identity string
	Key      string
}

// String hides the key so a PSK can be logged.
func (p PSK) String() string {
	return fmt.Sprintf("PSK{identity=%q, key=<%d hex digits>}", p.Identity, len(p.Key))
}

// GoString hides the key from %#v as well.
func (p PSK) GoString() string { return p.String() }

// ParsePSKFile reads a file in stunnel's PSKsecrets format: one "<identity>:<hex key>" per line.
func ParsePSKFile(path string) ([]PSK, error) {
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
		return nil, fmt.Errorf("%w %s: larger than %d bytes", ErrMalformedPSK, path, maxPSKFileBytes)
	}
	psks, err := ParsePSK(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return psks, nil
}

// ParsePSK parses PSKsecrets content. Blank lines and surrounding white space (including the
// CRLF of a Secret written on Windows) are ignored; anything else must be a valid entry.
func ParsePSK(data []byte) ([]PSK, error) {
	var out []PSK
	seen := map[string]bool{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if line == "" {
			continue
		}
		lineNo := i + 1
		identity, key, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: line %d: want <identity>:<at least %d hex digits>", ErrMalformedPSK, lineNo, MinKeyHexDigits)
		}
		switch {
		case identity == "":
			return nil, fmt.Errorf("%w: line %d: empty identity", ErrMalformedPSK, lineNo)
		case len(identity) > MaxIdentityLen:
			return nil, fmt.Errorf("%w: line %d: identity longer than %d characters", ErrMalformedPSK, lineNo, MaxIdentityLen)
		case strings.ContainsFunc(identity, func(r rune) bool { return r < 0x21 || r > 0x7e }):
			return nil, fmt.Errorf("%w: line %d: identity must be printable ASCII without spaces", ErrMalformedPSK, lineNo)
		case len(key) < MinKeyHexDigits:
			return nil, fmt.Errorf("%w: line %d: key has %d characters, want at least %d hex digits", ErrMalformedPSK, lineNo, len(key), MinKeyHexDigits)
		case len(key)%2 != 0:
			return nil, fmt.Errorf("%w: line %d: key has an odd number of hex digits", ErrMalformedPSK, lineNo)
		case !isHex(key):
			return nil, fmt.Errorf("%w: line %d: key is not hexadecimal", ErrMalformedPSK, lineNo)
		case seen[identity]:
			return nil, fmt.Errorf("%w: line %d: identity %q appears twice", ErrMalformedPSK, lineNo, identity)
		}
		seen[identity] = true
		out = append(out, PSK{Identity: identity, Key: key})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no <identity>:<key> line", ErrMalformedPSK)
	}
	return out, nil
}

// WriteSecrets writes psks in stunnel's PSKsecrets format, readable by this user only (stunnel
// refuses a secrets file that others can read).
func WriteSecrets(path string, psks []PSK) error {
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

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
