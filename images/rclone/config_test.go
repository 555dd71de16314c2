package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/rclone"
)

func getenvOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func baseVars() map[string]string {
	return map[string]string{
		rclone.EnvDirection:     rclone.DirectionSource,
		rclone.EnvConfigSection: "s3",
		rclone.EnvDestPath:      "bucket/dir/",
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(getenvOf(baseVars()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigFile != "/rclone-config/rclone.conf" || c.DataDir != mover.DataDir || c.DestPath != "bucket/dir" ||
		c.Remote() != "s3:bucket/dir" || c.RemoteDir() != "s3:bucket/dir/" || c.Bucket() != "bucket" ||
		c.ManifestRemote() != "s3:bucket/dir/"+rclone.Manifest || c.Privileged {
		t.Fatalf("defaults: %+v", c)
	}
	vars := baseVars()
	vars[rclone.EnvMountPath] = "/mnt"
	if c, _ := LoadConfig(getenvOf(vars), nil); c.DataDir != "/mnt" {
		t.Errorf("MOUNT_PATH: %q", c.DataDir)
	}
	vars[mover.EnvDataDir] = "/override"
	if c, _ := LoadConfig(getenvOf(vars), nil); c.DataDir != "/override" {
		t.Errorf("DATA_DIR overrides MOUNT_PATH: %q", c.DataDir)
	}
	vars[mover.EnvPrivileged] = "1"
	c, _ = LoadConfig(getenvOf(vars), nil)
	if root := os.Geteuid() == 0; c.Privileged != root || c.PrivilegedIgnored == root {
		t.Errorf("PRIVILEGED_MOVER=1 as uid %d: %+v", os.Geteuid(), c)
	}

	bad := map[string]map[string]string{
		"no direction":  {rclone.EnvDirection: ""},
		"bad direction": {rclone.EnvDirection: "both"},
		"no section":    {rclone.EnvConfigSection: " "},
		"colon section": {rclone.EnvConfigSection: "s3:x"},
		"no path":       {rclone.EnvDestPath: "/"},
		"newline path":  {rclone.EnvDestPath: "a\nb"},
	}
	for name, change := range bad {
		vars := baseVars()
		for k, v := range change {
			vars[k] = v
		}
		if _, err := LoadConfig(getenvOf(vars), nil); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestRcloneEnv(t *testing.T) {
	env := rcloneEnv([]string{"PATH=/bin", "RCLONE_TRANSFERS=4", "RCLONE_STATS=0", "RCLONE_LOG_FILE=/x", "RCLONE_PROGRESS=1", "RCLONE_S3_ACL=private"})
	want := []string{"PATH=/bin", "RCLONE_TRANSFERS=4", "RCLONE_STATS=" + noPeriodicStats, "RCLONE_S3_ACL=private", "RCLONE_CHECKSUM=1"}
	if !slices.Equal(env, want) {
		t.Fatalf("got %q, want %q", env, want)
	}
	env = rcloneEnv(nil)
	if !slices.Equal(env, []string{"RCLONE_TRANSFERS=10", "RCLONE_CHECKSUM=1", "RCLONE_STATS=20s"}) {
		t.Fatalf("defaults %q", env)
	}
	for v, zero := range map[string]bool{"0": true, "0s": true, "off": true, "20s": false, "1m": false} {
		if zeroDuration(v) != zero {
			t.Errorf("zeroDuration(%q) != %t", v, zero)
		}
	}
	for _, c := range []struct {
		debug bool
		env   []string
		want  string
	}{{false, nil, "NOTICE"}, {true, nil, "DEBUG"}, {false, []string{"RCLONE_LOG_LEVEL=info"}, "INFO"}, {false, []string{"RCLONE_LOG_LEVEL=ERROR"}, "NOTICE"}} {
		if got := logLevel(Config{Debug: c.debug, Env: c.env}); got != c.want {
			t.Errorf("logLevel(debug=%t, %q) = %s, want %s", c.debug, c.env, got, c.want)
		}
	}
}

func TestRedactor(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "rclone.conf")
	must(os.WriteFile(conf, []byte("[s3]\ntype = s3\naccess_key_id = AKIAEXAMPLE123\nsecret_access_key = abc/def+ghi\nendpoint = https://s3.example.com\nregion = eu\n"), 0o600))
	r := NewRedactor(conf, []string{"RCLONE_CONFIG_PASS=hunter22", "RCLONE_TRANSFERS=1234", "HOME=/secretary"})
	got := r.Mask("key AKIAEXAMPLE123 secret abc/def+ghi pass hunter22 at https://s3.example.com transfers 1234 in eu /secretary")
	want := "key *** secret *** pass *** at https://s3.example.com transfers 1234 in eu /secretary"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if NewRedactor(filepath.Join(t.TempDir(), "missing"), nil).Mask("x") != "x" {
		t.Fatal("an empty redactor changed its input")
	}
}

// TestClassify: rclone's real messages (v1.76, versitygw) map to plain reasons.
func TestClassify(t *testing.T) {
	c := Config{Section: "s3", DestPath: "bucket/dir", ConfigFile: "/rclone-config/rclone.conf"}
	cases := map[string]string{
		`Failed to create file system for "nosect:bucket": didn't find section in config file ("nosect")`:                                                    `section "s3" not found in /rclone-config/rclone.conf`,
		`operation error S3: ListObjectsV2, https response error StatusCode: 404, RequestID: X, api error NoSuchBucket: The specified bucket does not exist`: `bucket "bucket" does not exist at section "s3"`,
		`operation error S3: HeadObject, https response error StatusCode: 403, RequestID: X, HostID: Y, api error Forbidden: Forbidden`:                      `refused the credentials of section "s3" (Forbidden)`,
		`api error SignatureDoesNotMatch: The request signature we calculated does not match`:                                                                `refused the credentials of section "s3" (SignatureDoesNotMatch)`,
		`Get "https://127.0.0.1:9000/bucket": tls: failed to verify certificate: x509: certificate signed by unknown authority`:                              `not trusted (x509: certificate signed by unknown authority): set customCA`,
		`dial tcp 127.0.0.1:1: connect: connection refused`:                                                                                                  `cannot reach the object store of section "s3" (dial tcp 127.0.0.1:1: connect: connection refused)`,
		`something else entirely`: ``,
	}
	for msg, want := range cases {
		got := classify(c, Run{Errors: []string{"first line", msg}})
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s\n got %q\nwant %q", msg, got, want)
		}
	}
	err := failure(c, "uploading", Run{RC: 7, Errors: []string{"a secret-looking internal message"}})
	if err.Error() != "uploading: rclone exit 7 (fatal error); rclone's messages are in the mover's log" {
		t.Errorf("unclassified failure %q", err)
	}
}
