package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/images/contract/result"
)

// ErrConfig is wrapped by every configuration error (exit ExitUsage: nothing was done).
var ErrConfig = errors.New("invalid configuration")

// Config is what the controller tells the mover (README.md, "Contract").
type Config struct {
	Direction  string
	ConfigFile string
	Section    string
	// DestPath is the remote path (bucket/dir), without a trailing slash.
	DestPath   string
	DataDir    string
	CustomCA   string
	ResultPath string
	Debug      bool
	// Privileged: PRIVILEGED_MOVER=1 and running as root: ownership is kept.
	Privileged bool
	// PrivilegedIgnored: PRIVILEGED_MOVER=1 but not running as root.
	PrivilegedIgnored bool
	// Env is the environment rclone runs with: the mover's own with the reference's defaults
	// (RCLONE_TRANSFERS, RCLONE_CHECKSUM, RCLONE_STATS) where unset, without what the mover
	// decides itself (logging).
	Env []string
}

// Defaults of the reference (mover-rclone/active.sh), applied when the user's Secret does not
// set them.
var rcloneDefaults = []struct{ name, value string }{
	{"RCLONE_TRANSFERS", "10"},
	{"RCLONE_CHECKSUM", "1"},
	{"RCLONE_STATS", "20s"},
}

// controlled are rclone settings the mover sets itself: it reads rclone's log (JSON, on
// stderr, statistics at NOTICE level) for its result. A user's values are ignored.
var controlled = map[string]bool{
	"RCLONE_LOG_FILE":        true,
	"RCLONE_LOG_FORMAT":      true,
	"RCLONE_USE_JSON_LOG":    true,
	"RCLONE_STATS_LOG_LEVEL": true,
	"RCLONE_STATS_ONE_LINE":  true,
	"RCLONE_PROGRESS":        true,
	"RCLONE_QUIET":           true,
	"RCLONE_VERBOSE":         true,
	"RCLONE_SYSLOG":          true,
	"RCLONE_LOG_SYSTEMD":     true,
	"RCLONE_CONFIG":          true,
	"RCLONE_CA_CERT":         true,
	"RCLONE_DRY_RUN":         true,
	"RCLONE_INTERACTIVE":     true,
}

// noPeriodicStats replaces a zero RCLONE_STATS: rclone prints its final statistics only when
// the interval is not zero, and the result needs them.
const noPeriodicStats = "8760h"

// LoadConfig reads the mover's configuration from its environment.
func LoadConfig(getenv func(string) string, environ []string) (Config, error) {
	c := Config{
		Direction:  getenv(rclone.EnvDirection),
		ConfigFile: orDefault(getenv(rclone.EnvConfig), rclone.ConfigDir+"/"+rclone.ConfigKey),
		Section:    strings.TrimSpace(getenv(rclone.EnvConfigSection)),
		DestPath:   strings.TrimRight(strings.TrimSpace(getenv(rclone.EnvDestPath)), "/"),
		DataDir:    orDefault(getenv(mover.EnvDataDir), orDefault(getenv(rclone.EnvMountPath), mover.DataDir)),
		CustomCA:   getenv(rclone.EnvCustomCA),
		ResultPath: orDefault(getenv(result.PathEnv), result.DefaultPath),
		Debug:      truthy(getenv(mover.EnvDebug)),
	}
	if truthy(getenv(mover.EnvPrivileged)) {
		c.Privileged = os.Geteuid() == 0
		c.PrivilegedIgnored = !c.Privileged
	}
	switch c.Direction {
	case rclone.DirectionSource, rclone.DirectionDestination:
	case "":
		return c, fmt.Errorf("%w: %s must be %q or %q", ErrConfig, rclone.EnvDirection, rclone.DirectionSource, rclone.DirectionDestination)
	default:
		return c, fmt.Errorf("%w: %s %q is neither %q nor %q", ErrConfig, rclone.EnvDirection, c.Direction, rclone.DirectionSource, rclone.DirectionDestination)
	}
	if c.Section == "" {
		return c, fmt.Errorf("%w: %s must name the section of rclone.conf to use (spec.rclone.rcloneConfigSection)", ErrConfig, rclone.EnvConfigSection)
	}
	if strings.ContainsAny(c.Section, ":/[]\r\n") || strings.HasPrefix(c.Section, "-") {
		return c, fmt.Errorf("%w: %s %q is not an rclone section name", ErrConfig, rclone.EnvConfigSection, c.Section)
	}
	if c.DestPath == "" {
		return c, fmt.Errorf("%w: %s must name the remote path, bucket/dir (spec.rclone.rcloneDestPath)", ErrConfig, rclone.EnvDestPath)
	}
	if strings.ContainsAny(c.DestPath, "\r\n\x00") {
		return c, fmt.Errorf("%w: %s %q has a line break", ErrConfig, rclone.EnvDestPath, c.DestPath)
	}
	if strings.ContainsAny(c.DataDir, "\r\n\x00") {
		return c, fmt.Errorf("%w: data directory %q has a line break", ErrConfig, c.DataDir)
	}
	c.Env = rcloneEnv(environ)
	return c, nil
}

// Remote is the rclone remote of the remote path: section:bucket/dir.
func (c Config) Remote() string { return c.Section + ":" + c.DestPath }

// RemoteDir is Remote as a directory (see syncArgs).
func (c Config) RemoteDir() string { return c.Remote() + "/" }

// ManifestRemote is the manifest's object.
func (c Config) ManifestRemote() string { return c.Remote() + "/" + rclone.Manifest }

// Bucket is the first element of the remote path (the bucket, for an object store).
func (c Config) Bucket() string {
	b, _, _ := strings.Cut(strings.TrimLeft(c.DestPath, "/"), "/")
	return b
}

// rcloneEnv is environ without the settings the mover controls, with the reference's defaults
// where unset.
func rcloneEnv(environ []string) []string {
	out := make([]string, 0, len(environ)+len(rcloneDefaults))
	set := map[string]bool{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if controlled[name] {
			continue
		}
		if name == "RCLONE_STATS" && zeroDuration(value) {
			kv = name + "=" + noPeriodicStats
		}
		set[name] = true
		out = append(out, kv)
	}
	for _, d := range rcloneDefaults {
		if !set[d.name] {
			out = append(out, d.name+"="+d.value)
		}
	}
	return out
}

// zeroDuration reports an rclone duration that disables periodic statistics ("0", "0s", "off").
func zeroDuration(v string) bool {
	v = strings.TrimSpace(v)
	if v == "0" || strings.EqualFold(v, "off") {
		return true
	}
	d, err := time.ParseDuration(v)
	return err == nil && d == 0
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func truthy(v string) bool { return v == "1" || strings.EqualFold(v, "true") }
