package movertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/result"
)

const (
	// Nobody is the uid the unprivileged movers run as by default (the images' USER).
	Nobody = 65534
	// ExitTimeout bounds the wait for a mover to finish a small sync, or to stop after SIGTERM.
	ExitTimeout = 60 * time.Second
	// pollInterval is how often WaitFor looks at a mover's output.
	pollInterval = 20 * time.Millisecond
)

// MissingTools returns the tools of the list that are not in PATH (or /usr/sbin, where sshd
// lives), separated by spaces.
func MissingTools(tools ...string) string {
	var missing string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat(filepath.Join("/usr/sbin", tool)); err != nil {
				missing += " " + tool
			}
		}
	}
	return missing
}

// RequireTools skips the test when a tool is missing (fails it with CI=true).
func RequireTools(t *testing.T, missing string) {
	t.Helper()
	if missing == "" {
		return
	}
	msg := "missing tools:" + missing + " (run images/hack/install-deps.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RequireRoot skips the test unless it runs as root (it runs movers as other uids).
func RequireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: " + why)
	}
}

// Scratch makes a directory every uid may traverse, for binaries and mover directories. It is
// for TestMain: the caller removes it.
func Scratch(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o755)
}

// Build builds the main package in pkgDir (relative to the test's directory) into dir/name.
func Build(dir, name, pkgDir string) (string, error) {
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, pkgDir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", pkgDir, err, out)
	}
	return bin, nil
}

// LinkTools puts the tools of the list, found in PATH, into dir/bin (hard links, or copies
// across filesystems) and returns dir/bin, for PATH of movers running as another uid: tools
// built into a private directory (images/hack/gotools.sh caches under $HOME) are out of their
// reach. dir must be traversable by them (Scratch).
func LinkTools(dir string, tools ...string) (string, error) {
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	for _, tool := range tools {
		src, err := exec.LookPath(tool)
		if err != nil {
			return "", err
		}
		if src, err = filepath.EvalSymlinks(src); err != nil {
			return "", err
		}
		dst := filepath.Join(bin, tool)
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst); err != nil {
				return "", fmt.Errorf("linking %s: %w", tool, err)
			}
		}
		if err := os.Chmod(dst, 0o755); err != nil {
			return "", err
		}
	}
	return bin, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// Env is one mover's world: its directories and its identity.
type Env struct {
	T    *testing.T
	Dir  string
	UID  int
	Data string
	Tmp  string
}

// NewEnv makes a data directory, a TMPDIR and a termination log owned by uid under scratch.
func NewEnv(t *testing.T, scratch, name string, uid int) *Env {
	t.Helper()
	dir, err := os.MkdirTemp(scratch, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	must(os.Chmod(dir, 0o755))
	e := &Env{T: t, Dir: dir, UID: uid, Data: filepath.Join(dir, "data"), Tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{e.Data, e.Tmp} {
		must(os.Mkdir(d, 0o755))
		must(os.Chown(d, uid, uid))
	}
	// Kubernetes provides a writable termination log.
	must(os.WriteFile(e.ResultPath(), nil, 0o644))
	must(os.Chown(e.ResultPath(), uid, uid))
	return e
}

// ResultPath is the mover's termination log.
func (e *Env) ResultPath() string { return filepath.Join(e.Dir, "termination-log") }

// BaseEnv is the environment every mover of e gets.
func (e *Env) BaseEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + e.Tmp,
		mover.EnvDataDir + "=" + e.Data,
		result.PathEnv + "=" + e.ResultPath(),
	}
}

// Result reads the mover's JSON result.
func (e *Env) Result() result.Result {
	e.T.Helper()
	b, err := os.ReadFile(e.ResultPath())
	if err != nil {
		e.T.Fatal(err)
	}
	if len(b) > result.MaxBytes {
		e.T.Fatalf("result is %d bytes", len(b))
	}
	r, err := result.Parse(b)
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// Process is a running entrypoint (or any command the test runs as a mover's uid).
type Process struct {
	Cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	rc     int
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Start runs argv as e's uid with env. The test's cleanup stops it the way Kubernetes does
// (SIGTERM, then SIGKILL) and prints its output when the test failed.
func (e *Env) Start(env []string, argv ...string) *Process {
	e.T.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	if e.UID != os.Geteuid() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.UID), Gid: uint32(e.UID), NoSetGroups: true}}
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = lockedWriter{&p.mu, &p.stdout}
	cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	if err := cmd.Start(); err != nil {
		e.T.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			p.rc = 0
		case errors.As(err, &ee):
			p.rc = ee.ExitCode()
		default:
			p.rc = -1
		}
		close(p.done)
	}()
	e.T.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(ExitTimeout):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		if e.T.Failed() {
			e.T.Logf("%s %v stdout:\n%s\nstderr:\n%s", filepath.Base(e.Dir), argv, p.Out(), p.ErrOut())
		}
	})
	return p
}

// Out is what the process wrote on stdout so far.
func (p *Process) Out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

// ErrOut is what the process wrote on stderr so far.
func (p *Process) ErrOut() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Wait returns the exit code, failing the test when the process runs past the deadline.
func (p *Process) Wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.rc
	case <-time.After(timeout):
		t.Fatalf("%s still running after %s", p.Cmd.Path, timeout)
		return -1
	}
}

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// WaitFor polls the process's stdout and stderr for text until the deadline.
func (p *Process) WaitFor(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !strings.Contains(p.Out()+p.ErrOut(), text) {
		if !p.Running() {
			t.Fatalf("%s exited (rc %d) before printing %q", p.Cmd.Path, p.rc, text)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q after %s", text, timeout)
		}
		<-tick.C
	}
}

// FreePort returns a TCP port nothing listens on at the moment.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// CheckSynced checks a finished sync: the source exited with rc 0, the destination d exits 0,
// neither wrote on stderr, and both results are successful with a duration. It returns the
// results.
func CheckSynced(t *testing.T, src, dst *Env, s, d *Process, rc int) (source, destination result.Result) {
	t.Helper()
	if rc != 0 {
		t.Fatalf("source exit %d: %s", rc, s.ErrOut())
	}
	if rc := d.Wait(t, ExitTimeout); rc != 0 {
		t.Fatalf("destination exit %d: %s", rc, d.ErrOut())
	}
	if s.ErrOut() != "" || d.ErrOut() != "" {
		t.Fatalf("stderr must stay empty on success: source %q destination %q", s.ErrOut(), d.ErrOut())
	}
	source, destination = src.Result(), dst.Result()
	if !source.Succeeded() || !destination.Succeeded() || source.Error != "" {
		t.Fatalf("results: source %+v destination %+v", source, destination)
	}
	if source.DurationSeconds <= 0 || destination.DurationSeconds <= 0 {
		t.Fatalf("durations: %+v %+v", source, destination)
	}
	return source, destination
}

// CheckFailed checks a failed mover: exit code, a one-line reason on stderr, the same reason in
// the result, and that the reason contains every wantReason.
func CheckFailed(t *testing.T, e *Env, p *Process, rc, wantRC int, wantReason ...string) {
	t.Helper()
	if rc != wantRC {
		t.Fatalf("exit code %d, want %d; stderr %q", rc, wantRC, p.ErrOut())
	}
	stderr := p.ErrOut()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("stderr must be exactly one line: %q", stderr)
	}
	r := e.Result()
	if r.Outcome != result.OutcomeFailed || r.Error != strings.TrimSuffix(stderr, "\n") {
		t.Fatalf("result %+v does not carry the reason %q", r, stderr)
	}
	for _, want := range wantReason {
		if !strings.Contains(stderr, want) {
			t.Fatalf("reason %q does not contain %q", stderr, want)
		}
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Setup describes a mover test package's TestMain (Main).
type Setup struct {
	// Bin is the name of the mover binary built from the test's package.
	Bin string
	// Missing are the tools not found (MissingTools): Prepare is skipped without them, and
	// the tests that need them fail or skip (RequireTools).
	Missing string
	// Scratch and Mover receive the scratch directory (Scratch) and the mover binary's path.
	Scratch, Mover *string
	// Prepare runs after the build when no tool is missing (keys, tool links ...).
	Prepare func() error
}

// Main is a mover test package's TestMain: it makes a scratch directory every uid may
// traverse, builds the mover into it, prepares, runs the tests, removes the directory and
// exits with the tests' code (1 when the set-up failed).
func Main(m *testing.M, s Setup) {
	code, err := s.run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if *s.Scratch != "" {
		_ = os.RemoveAll(*s.Scratch)
	}
	os.Exit(code)
}

func (s Setup) run(m *testing.M) (int, error) {
	var err error
	if *s.Scratch, err = Scratch(s.Bin + "-test-"); err != nil {
		return 1, err
	}
	if *s.Mover, err = Build(*s.Scratch, s.Bin, "."); err != nil {
		return 1, err
	}
	if s.Missing == "" && s.Prepare != nil {
		if err := s.Prepare(); err != nil {
			return 1, err
		}
	}
	return m.Run(), nil
}

// Tools are the tools a mover test package needs from images/hack/gotools.sh (MainWithTools).
type Tools struct {
	// Need are the tools the tests need in PATH (the gotools.sh names).
	Need []string
	// Link are those the mover runs, linked for movers of any uid (LinkTools).
	Link []string
	// Missing receives the missing ones (MissingTools) and how to build them; Bin, the
	// directory of the links.
	Missing, Bin *string
}

// MainWithTools is Main for a mover test package that needs tools from the Go module proxy:
// it finds them and links t.Link for movers of any uid (before s.Prepare).
func MainWithTools(m *testing.M, s Setup, t Tools) {
	if *t.Missing = MissingTools(t.Need...); *t.Missing != "" {
		*t.Missing += fmt.Sprintf(` (built from the Go module proxy: export PATH="$(images/hack/gotools.sh %s):$PATH")`, strings.Join(t.Need, " "))
	}
	s.Missing = *t.Missing
	prepare := s.Prepare
	s.Prepare = func() (err error) {
		if *t.Bin, err = LinkTools(*s.Scratch, t.Link...); err != nil || prepare == nil {
			return err
		}
		return prepare()
	}
	Main(m, s)
}
