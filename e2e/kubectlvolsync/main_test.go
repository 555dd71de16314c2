//go:build e2e

package kubectlvolsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
)

// cliTimeout bounds one CLI run.
const cliTimeout = 8 * time.Minute

// bin is the CLI under test, built by TestMain.
var bin string

// TestMain builds the CLI (through the workspace, as a developer builds it), connects to the
// cluster and runs the tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kubectl-volsync-e2e-")
	if err == nil {
		bin = filepath.Join(dir, "kubectl-volsync")
		err = build(bin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	if cluster.C, cluster.CS, err = cluster.Connect(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func build(out string) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=e2e", "-o", out, "./cmd/kubectl-volsync")
	cmd.Dir = filepath.Join(wd, "..", "..")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building kubectl-volsync: %w\n%s", err, msg)
	}
	return nil
}

// cli runs the CLI with --config-dir cfg and returns its output (stdout and stderr) and exit
// code; the output is logged.
func cli(t *testing.T, cfg string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config-dir", cfg}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("kubectl-volsync %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("$ kubectl volsync %s  (exit %d)\n%s", strings.Join(args, " "), code, out)
	return string(out), code
}

// ok runs the CLI and fails the test unless it succeeds.
func ok(t *testing.T, cfg string, args ...string) string {
	t.Helper()
	out, code := cli(t, cfg, args...)
	if code != 0 {
		t.Fatalf("kubectl volsync %s: exit %d", strings.Join(args, " "), code)
	}
	return out
}

// fails runs the CLI, expecting exit code 1 and an error containing each of want.
func fails(t *testing.T, cfg string, args []string, want ...string) string {
	t.Helper()
	out, code := cli(t, cfg, args...)
	if code != 1 {
		t.Errorf("kubectl volsync %s: exit %d, want 1", strings.Join(args, " "), code)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("kubectl volsync %s: output lacks %q", strings.Join(args, " "), w)
		}
	}
	return out
}

func TestVersion(t *testing.T) {
	t.Parallel()
	if out := ok(t, t.TempDir(), "--version"); strings.TrimSpace(out) != "volsync version e2e" {
		t.Errorf("--version printed %q", out)
	}
}
