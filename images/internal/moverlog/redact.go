package moverlog

import (
	"regexp"
	"sort"
	"strings"
)

// Redactor masks secret values (keys, passwords, tokens) in everything a mover prints or
// reports: its tools' messages could quote them.
type Redactor struct {
	r *strings.Replacer
}

// SecretName matches the names of variables and options that hold secrets (access_key_id,
// AWS_SECRET_ACCESS_KEY, pass, RESTIC_PASSWORD, token, session_token, sas_url,
// service_account_credentials, client_secret, key_file_pass ...).
var SecretName = regexp.MustCompile(`(?i)(key|secret|pass|token|credential|sas|auth|cookie|session|private|signature)`)

// minSecret is the shortest value masked: shorter ones would mask ordinary words.
const minSecret = 4

// Masked is what replaces a secret.
const Masked = "***"

// Secrets collects secret values: Add keeps a value when its name is a SecretName.
type Secrets []string

// Add keeps value (trimmed) when name says it is a secret and it is long enough to mask.
func (s *Secrets) Add(name, value string) {
	if SecretName.MatchString(name) {
		s.AddValue(value)
	}
}

// AddValue keeps value (trimmed) whatever its name, when it is long enough to mask.
func (s *Secrets) AddValue(value string) {
	if value = strings.TrimSpace(value); len(value) >= minSecret {
		*s = append(*s, value)
	}
}

// AddEnv adds the variables of environ (NAME=value) whose names start with one of prefixes.
func (s *Secrets) AddEnv(environ []string, prefixes ...string) {
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				s.Add(name, value)
				break
			}
		}
	}
}

// NewRedactor masks the collected values.
func NewRedactor(values Secrets) *Redactor {
	values = append(Secrets{}, values...)
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		pairs = append(pairs, v, Masked)
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// Mask returns s with every secret value replaced by Masked.
func (r *Redactor) Mask(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}
