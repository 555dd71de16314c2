package main

import (
	"net/url"
	"strings"

	"github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/images/internal/moverlog"
)

// NewRedactor masks the secrets of the repository Secret in everything the mover prints or
// reports: RESTIC_PASSWORD, the backends' keys and tokens (restic.OptionalKeys and RCLONE_*
// variables whose names say so) and a password in RESTIC_REPOSITORY's URL.
func NewRedactor(getenv func(string) string, environ []string) *moverlog.Redactor {
	var s moverlog.Secrets
	s.AddValue(getenv(restic.EnvPassword))
	for _, k := range restic.OptionalKeys {
		s.Add(k, getenv(k))
	}
	s.AddEnv(environ, restic.SecretEnvPrefix)
	if u, err := url.Parse(strings.TrimPrefix(strings.TrimPrefix(getenv(restic.EnvRepository), "rest:"), "s3:")); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			s.AddValue(p)
		}
	}
	return moverlog.NewRedactor(s)
}
