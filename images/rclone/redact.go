package main

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/volsync-go/volsync/images/contract/rclone"
)

// Redactor masks secret values (keys, passwords, tokens of rclone.conf and of the RCLONE_*
// variables) in everything the mover prints or reports: rclone's messages could quote them.
type Redactor struct {
	r *strings.Replacer
}

// secretName matches the names of rclone options that hold secrets (access_key_id,
// secret_access_key, pass, password, token, session_token, sas_url, service_account_credentials,
// client_secret, key_file_pass ...).
var secretName = regexp.MustCompile(`(?i)(key|secret|pass|token|credential|sas|auth|cookie|session|private|signature)`)

// minSecret is the shortest value masked: shorter ones would mask ordinary words.
const minSecret = 4

// masked is what replaces a secret.
const masked = "***"

// NewRedactor collects the secret values of the rclone configuration file (when it is plain
// text and readable) and of the RCLONE_* variables of environ.
func NewRedactor(configFile string, environ []string) *Redactor {
	var values []string
	add := func(name, value string) {
		value = strings.TrimSpace(value)
		if secretName.MatchString(name) && len(value) >= minSecret {
			values = append(values, value)
		}
	}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, rclone.SecretEnvPrefix) {
			add(name, value)
		}
	}
	if f, err := os.Open(configFile); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), "="); ok {
				add(strings.TrimSpace(name), value)
			}
		}
		_ = f.Close()
	}
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		pairs = append(pairs, v, masked)
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// Mask returns s with every secret value replaced by masked.
func (r *Redactor) Mask(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}
