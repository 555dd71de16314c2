package main

// Tests of the entrypoint binary with the real rclone against a real S3 server (versitygw,
// images/internal/s3test) on loopback. Directories stand in for the volumes. The tools come
// from images/hack/gotools.sh (export PATH="$(images/hack/gotools.sh rclone versitygw):$PATH");
// with CI=true a missing tool fails the tests instead of skipping them.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/s3test"
	"github.com/volsync-go/volsync/images/internal/treetest"
)

const (
	nobody      = movertest.Nobody
	exitTimeout = movertest.ExitTimeout
	// section is the rclone.conf section the tests use, bucket their bucket.
	section = "s3-test"
	bucket  = "volsync"
)

var (
	moverBin   string
	missing    string
	scratchDir string
	// toolsBin holds rclone for movers of any uid (the build cache is private to root).
	toolsBin string
)

func TestMain(m *testing.M) {
	movertest.MainWithTools(m, movertest.Setup{Bin: "volsync-rclone", Scratch: &scratchDir, Mover: &moverBin},
		movertest.Tools{Need: []string{"rclone", s3test.Tool}, Link: []string{"rclone"}, Missing: &missing, Bin: &toolsBin})
}

var must = treetest.Must

func requireTools(t *testing.T) {
	t.Helper()
	movertest.RequireTools(t, missing)
}

// env is one mover's world: its directories, its identity and its rclone.conf.
type env struct {
	*movertest.Env
	conf string
}

// newEnv makes a mover's directories owned by uid, with an rclone.conf holding conf.
func newEnv(t *testing.T, name string, uid int, conf string) *env {
	t.Helper()
	e := &env{Env: movertest.NewEnv(t, scratchDir, name, uid)}
	e.conf = filepath.Join(e.Dir, "rclone.conf")
	must(os.WriteFile(e.conf, []byte(conf), 0o600))
	must(os.Chown(e.conf, uid, uid))
	return e
}

// run runs the mover to its end with the variables of the controller's contract and extra
// ones (later ones win).
func (e *env) run(direction, destPath string, extra ...string) (*movertest.Process, int) {
	e.T.Helper()
	vars := append(e.BaseEnv(),
		"PATH="+toolsBin+":"+os.Getenv("PATH"),
		rclone.EnvConfig+"="+e.conf,
		rclone.EnvConfigSection+"="+section,
		rclone.EnvDestPath+"="+destPath,
		rclone.EnvDirection+"="+direction,
		rclone.EnvMountPath+"=/nonexistent", // DATA_DIR (BaseEnv) overrides it
		mover.EnvPrivileged+"="+strconv.Itoa(map[bool]int{true: 1}[e.UID == 0]),
	)
	p := e.Start(append(vars, extra...), moverBin)
	return p, p.Wait(e.T, exitTimeout)
}

// syncOnce runs a source then a destination and checks both succeeded.
func syncOnce(t *testing.T, src, dst *env, destPath string) (source, destination result.Result) {
	t.Helper()
	s, rc := src.run(rclone.DirectionSource, destPath)
	checkSucceeded(t, src, s, rc)
	d, rc := dst.run(rclone.DirectionDestination, destPath)
	checkSucceeded(t, dst, d, rc)
	return src.Result(), dst.Result()
}

// checkSucceeded checks a successful run: exit 0, nothing on stderr, a successful result with
// a duration and the details, and the summary lines of the reference's log filter on stdout.
func checkSucceeded(t *testing.T, e *env, p *movertest.Process, rc int) {
	t.Helper()
	if rc != 0 || p.ErrOut() != "" {
		t.Fatalf("exit %d, stderr %q", rc, p.ErrOut())
	}
	r := e.Result()
	if !r.Succeeded() || r.Error != "" || r.DurationSeconds <= 0 {
		t.Fatalf("result %+v", r)
	}
	for _, k := range []string{rclone.DetailChecks, rclone.DetailDeletes, rclone.DetailEntries} {
		if _, err := strconv.Atoi(r.Details[k]); err != nil {
			t.Fatalf("result detail %s: %+v", k, r)
		}
	}
	for _, prefix := range []string{"Transferred:", "Checks:", "Deleted:", "Elapsed time:", "Rclone completed in "} {
		if !hasLinePrefix(p.Out(), prefix) {
			t.Fatalf("no line starting with %q on stdout:\n%s", prefix, p.Out())
		}
		if !hasLinePrefix(r.Summary, prefix) {
			t.Fatalf("no line starting with %q in the result's summary:\n%s", prefix, r.Summary)
		}
	}
}

func hasLinePrefix(out, prefix string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func detail(r result.Result, key string) int {
	n, _ := strconv.Atoi(r.Details[key])
	return n
}
