package main

import (
	"bufio"
	"os"
	"strings"

	"github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/images/internal/moverlog"
)

// NewRedactor masks the secret values (keys, passwords, tokens) of the rclone configuration
// file (when it is plain text and readable) and of the RCLONE_* variables of environ.
func NewRedactor(configFile string, environ []string) *moverlog.Redactor {
	var values moverlog.Secrets
	values.AddEnv(environ, rclone.SecretEnvPrefix)
	if f, err := os.Open(configFile); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), "="); ok {
				values.Add(strings.TrimSpace(name), value)
			}
		}
		_ = f.Close()
	}
	return moverlog.NewRedactor(values)
}
