package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// preflight checks what can be checked before talking to the object store, so that the
// commonest mistakes get a precise reason: the data directory, the configuration file and its
// section, the custom CA.
func preflight(c Config) error {
	fi, err := os.Stat(c.DataDir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", c.DataDir)
	}
	conf, err := os.ReadFile(c.ConfigFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("rclone configuration %s not found: the rcloneConfig Secret must have the key rclone.conf", c.ConfigFile)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot read the rclone configuration %s (permission denied; the mover runs as uid %d)", c.ConfigFile, os.Geteuid())
	case err != nil:
		return fmt.Errorf("reading the rclone configuration: %w", err)
	}
	if sections, ok := configSections(conf); ok && !sections[c.Section] && !envRemote(c.Env, c.Section) {
		names := make([]string, 0, len(sections))
		for n := range sections {
			names = append(names, fmt.Sprintf("%q", n))
		}
		sort.Strings(names)
		has := "it has none"
		if len(names) > 0 {
			has = "it has " + strings.Join(names, ", ")
		}
		return fmt.Errorf("section %q not found in %s (%s): rcloneConfigSection must name one", c.Section, c.ConfigFile, has)
	}
	if c.CustomCA != "" {
		pem, err := os.ReadFile(c.CustomCA)
		if err != nil {
			return fmt.Errorf("custom CA: %w", err)
		}
		if !bytes.Contains(pem, []byte("-----BEGIN CERTIFICATE-----")) {
			return fmt.Errorf("custom CA %s holds no PEM certificate", c.CustomCA)
		}
	}
	return nil
}

// configSections returns the section names of an rclone.conf; ok is false for an encrypted
// configuration, which only rclone can read.
func configSections(conf []byte) (map[string]bool, bool) {
	sections := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(conf))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "RCLONE_ENCRYPT_V") {
			return nil, false
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			sections[strings.TrimSpace(l[1:len(l)-1])] = true
		}
	}
	return sections, sc.Err() == nil
}

// envRemote reports a remote defined by environment variables (RCLONE_CONFIG_<NAME>_TYPE).
func envRemote(env []string, section string) bool {
	prefix := "RCLONE_CONFIG_" + envName(section) + "_TYPE="
	for _, kv := range env {
		if strings.HasPrefix(kv, prefix) {
			return true
		}
	}
	return false
}

// envName is a section name as rclone spells it in variable names: upper case, other
// characters than letters and digits as "_".
func envName(section string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'):
			return r
		}
		return '_'
	}, section)
}
