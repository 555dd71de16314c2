package psk

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

const (
	// MinKeyHexDigits is the shortest key accepted: stunnel needs at least 16 bytes of key.
	MinKeyHexDigits = 32
	// MaxIdentityLen is the longest PSK identity stunnel accepts.
	MaxIdentityLen = 128
	// Format describes an accepted key file for users (error messages, docs).
	Format = "one or more lines \"<identity>:<key>\": identity 1-128 printable ASCII characters without spaces or ':', " +
		"key at least 32 hexadecimal digits (an even count), e.g. \"volsync:\" followed by the output of \"openssl rand -hex 32\""
)

// ErrMalformed is wrapped by every parse error. Messages never contain key material.
var ErrMalformed = errors.New("malformed PSK")

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

// Parse parses stunnel PSKsecrets content: one "<identity>:<hex key>" per line. Blank lines and
// surrounding white space (including the CRLF of a Secret written on Windows) are ignored;
// anything else must be a valid entry. At least one entry is required.
func Parse(data []byte) ([]PSK, error) {
	var out []PSK
	seen := map[string]bool{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if line == "" {
			continue
		}
		p, err := parseLine(line)
		if err == nil && seen[p.Identity] {
			err = fmt.Errorf("identity %q appears twice", p.Identity)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrMalformed, i+1, err)
		}
		seen[p.Identity] = true
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no <identity>:<key> line", ErrMalformed)
	}
	return out, nil
}

// Validate reports why data is not a usable key file (nil when Parse accepts it).
func Validate(data []byte) error {
	_, err := Parse(data)
	return err
}

// parseLine checks one non-blank line. Errors may name the identity, never the key.
func parseLine(line string) (PSK, error) {
	identity, key, ok := strings.Cut(line, ":")
	switch {
	case !ok:
		return PSK{}, fmt.Errorf("want <identity>:<at least %d hex digits>", MinKeyHexDigits)
	case identity == "":
		return PSK{}, errors.New("empty identity")
	case len(identity) > MaxIdentityLen:
		return PSK{}, fmt.Errorf("identity longer than %d characters", MaxIdentityLen)
	case strings.ContainsFunc(identity, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		return PSK{}, errors.New("identity must be printable ASCII without spaces")
	case len(key) < MinKeyHexDigits:
		return PSK{}, fmt.Errorf("key has %d characters, want at least %d hex digits", len(key), MinKeyHexDigits)
	case len(key)%2 != 0:
		return PSK{}, errors.New("key has an odd number of hex digits")
	case !isHex(key):
		return PSK{}, errors.New("key is not hexadecimal")
	}
	return PSK{Identity: identity, Key: key}, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
