package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

const (
	// StopGrace is how long a child gets between SIGTERM and SIGKILL.
	StopGrace = 10 * time.Second
	// maxLine bounds one output line (rsync prints paths up to PATH_MAX and more).
	maxLine = 1 << 20
)

// LineFunc receives one line of a child's output, without its newline.
type LineFunc func(line string)

// Process is a started child whose stdout and stderr are read line by line.
type Process struct {
	cmd     *exec.Cmd
	readers sync.WaitGroup
	done    chan struct{}
	waitErr error
}

// Start starts cmd in its own process group; the child gets SIGTERM if this process dies. Each line of its stdout and stderr goes to the
// matching LineFunc (nil discards). When ctx ends the group gets SIGTERM, then SIGKILL after
// StopGrace.
func Start(ctx context.Context, cmd *exec.Cmd, stdout, stderr LineFunc) (*Process, error) {
	p := &Process{cmd: cmd, done: make(chan struct{})}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// A child must not outlive the mover if the mover is killed outright (outside a container,
	// where the child would not die with PID 1).
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	outR, err := p.pipe(&cmd.Stdout)
	if err != nil {
		return nil, err
	}
	errR, err := p.pipe(&cmd.Stderr)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	// The parent's copies of the write ends must go, or the readers never see EOF.
	closeWriter(cmd.Stdout)
	closeWriter(cmd.Stderr)
	p.read(outR, stdout)
	p.read(errR, stderr)
	go func() {
		select {
		case <-ctx.Done():
			p.Stop()
		case <-p.done:
		}
	}()
	go func() {
		p.readers.Wait()
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *Process) pipe(w *io.Writer) (io.Reader, error) {
	r, pw, err := osPipe()
	if err != nil {
		return nil, fmt.Errorf("creating pipe: %w", err)
	}
	*w = pw
	return r, nil
}

func (p *Process) read(r io.Reader, fn LineFunc) {
	p.readers.Add(1)
	go func() {
		defer p.readers.Done()
		defer closeReader(r)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), maxLine)
		for sc.Scan() {
			if fn != nil {
				fn(sc.Text())
			}
		}
		// A line over maxLine ends scanning: drain so the child never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, r)
	}()
}

// Pid is the child's process id (and process group id).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the child has exited and its output has been read.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the child and returns its exit code (-1 when it did not exit normally) and the
// error from exec.Cmd.Wait.
func (p *Process) Wait() (int, error) {
	<-p.done
	return ExitCode(p.waitErr), p.waitErr
}

// Stop sends SIGTERM to the child's process group and SIGKILL after StopGrace. It returns at once.
func (p *Process) Stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	go func() {
		select {
		case <-p.done:
		case <-time.After(StopGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}()
}

// Run starts cmd, waits for it and returns its exit code.
func Run(ctx context.Context, cmd *exec.Cmd, stdout, stderr LineFunc) (int, error) {
	p, err := Start(ctx, cmd, stdout, stderr)
	if err != nil {
		return -1, err
	}
	return p.Wait()
}

// ExitCode is the exit status carried by err from exec.Cmd.Wait: 0 for nil, -1 when the process
// was killed by a signal or never ran.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
