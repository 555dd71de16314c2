package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/s3test"
)

// failFast bounds a failure that must not be retried for long (refused credentials, a missing
// bucket, an untrusted certificate: rclone's retries of those end in seconds).
const failFast = 30 * time.Second

// TestCustomCA: an HTTPS object store with a private CA works with CUSTOM_CA and fails
// without it, with a reason that says to set customCA.
func TestCustomCA(t *testing.T) {
	requireTools(t)
	s3 := newServer(t, s3test.Options{TLS: true})
	src, dst := newEnv(t, "src", 0, s3.Section(section)), newEnv(t, "dst", 0, s3.Section(section))
	ca := s3.CopyCA(t, src.Dir)
	must(os.WriteFile(filepath.Join(src.Data, "f"), []byte("over TLS"), 0o644))

	start := time.Now()
	d, rc := dst.run(rclone.DirectionDestination, bucket+"/pvc")
	movertest.CheckFailed(t, dst.Env, d, rc, ExitFailed, "TLS certificate", "not trusted", "x509", "set customCA")
	t.Logf("no CA: %s", d.ErrOut())
	if time.Since(start) > failFast {
		t.Errorf("an untrusted certificate took %s to fail", time.Since(start))
	}

	s, rc := src.run(rclone.DirectionSource, bucket+"/pvc", rclone.EnvCustomCA+"="+ca)
	checkSucceeded(t, src, s, rc)
	d, rc = dst.run(rclone.DirectionDestination, bucket+"/pvc", rclone.EnvCustomCA+"="+ca)
	checkSucceeded(t, dst, d, rc)
	if b, err := os.ReadFile(filepath.Join(dst.Data, "f")); err != nil || string(b) != "over TLS" {
		t.Fatalf("destination file: %q %v", b, err)
	}

	// A CA that did not sign the server's certificate.
	other := s3test.Start(t, s3test.Options{TLS: true})
	d, rc = dst.run(rclone.DirectionDestination, bucket+"/pvc", rclone.EnvCustomCA+"="+other.CAFile)
	movertest.CheckFailed(t, dst.Env, d, rc, ExitFailed, "not signed by the custom CA "+other.CAFile, "check customCA")
	t.Logf("other CA: %s", d.ErrOut())
}

// TestWrongCredentials: refused keys fail both sides quickly with a reason naming the section,
// and no secret appears in the result, stdout or stderr.
func TestWrongCredentials(t *testing.T) {
	requireTools(t)
	s3 := newServer(t, s3test.Options{})
	const wrongSecret = "wrong-secret-4f1d2c3b5a69788796a5b4c3d2e1f0"
	const wrongKey = "AKIAWRONGKEY12345678"
	for name, conf := range map[string]string{
		"wrong secret":     s3.SectionWithKeys(section, s3.AccessKey, wrongSecret),
		"wrong access key": s3.SectionWithKeys(section, wrongKey, wrongSecret),
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, "creds", 0, conf)
			must(os.WriteFile(filepath.Join(e.Data, "f"), []byte("x"), 0o644))
			for _, dir := range []string{rclone.DirectionSource, rclone.DirectionDestination} {
				start := time.Now()
				p, rc := e.run(dir, bucket+"/pvc", "RCLONE_CONFIG_OTHER_SECRET_ACCESS_KEY=token-value-that-is-secret")
				movertest.CheckFailed(t, e.Env, p, rc, ExitFailed, "refused the credentials of section \""+section+"\"")
				t.Logf("%s: %s", dir, p.ErrOut())
				if time.Since(start) > failFast {
					t.Errorf("%s: refused credentials took %s to fail", dir, time.Since(start))
				}
				res, _ := os.ReadFile(e.ResultPath())
				for _, secret := range []string{wrongSecret, wrongKey, s3.SecretKey, "token-value-that-is-secret"} {
					if hasSecret(secret, string(res), p.Out(), p.ErrOut()) {
						t.Errorf("%s: a secret value appears in the result or the output", dir)
					}
				}
			}
		})
	}
}

// TestMissingBucket: a destination whose bucket does not exist fails naming it (it is not
// waiting for a source: no source can upload there).
func TestMissingBucket(t *testing.T) {
	requireTools(t)
	s3 := newServer(t, s3test.Options{})
	e := newEnv(t, "dst", 0, s3.Section(section))
	p, rc := e.run(rclone.DirectionDestination, "no-such-bucket/pvc")
	movertest.CheckFailed(t, e.Env, p, rc, ExitFailed, `bucket "no-such-bucket" does not exist`)
	t.Logf("%s", p.ErrOut())
}

// TestConfigurationErrors: a configuration the mover cannot use fails with its reason: exit 2
// when the controller's variables are wrong, exit 1 when the user's Secret is.
func TestConfigurationErrors(t *testing.T) {
	requireTools(t)
	s3 := newServer(t, s3test.Options{})
	e := newEnv(t, "cfg", 0, s3.Section(section))
	cases := []struct {
		name, direction string
		extra           []string
		rc              int
		reason          []string
	}{
		{"no direction", "", nil, ExitUsage, []string{"DIRECTION must be"}},
		{"bad direction", "sideways", nil, ExitUsage, []string{`DIRECTION "sideways"`}},
		{"no section", rclone.DirectionSource, []string{rclone.EnvConfigSection + "="}, ExitUsage, []string{"RCLONE_CONFIG_SECTION must name"}},
		{"no path", rclone.DirectionSource, []string{rclone.EnvDestPath + "="}, ExitUsage, []string{"RCLONE_DEST_PATH must name"}},
		{"unknown section", rclone.DirectionDestination, []string{rclone.EnvConfigSection + "=other"}, ExitFailed,
			[]string{`section "other" not found in ` + e.conf, `it has "` + section + `"`}},
		{"no config file", rclone.DirectionSource, []string{rclone.EnvConfig + "=" + filepath.Join(e.Dir, "missing.conf")}, ExitFailed,
			[]string{"rclone configuration " + filepath.Join(e.Dir, "missing.conf") + " not found"}},
		{"no data directory", rclone.DirectionSource, []string{"DATA_DIR=" + filepath.Join(e.Dir, "missing")}, ExitFailed,
			[]string{"data directory"}},
		{"custom CA missing", rclone.DirectionSource, []string{rclone.EnvCustomCA + "=" + filepath.Join(e.Dir, "ca.crt")}, ExitFailed,
			[]string{"custom CA"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, rc := e.run(c.direction, bucket+"/pvc", c.extra...)
			movertest.CheckFailed(t, e.Env, p, rc, c.rc, c.reason...)
			t.Logf("%s", p.ErrOut())
		})
	}
}
