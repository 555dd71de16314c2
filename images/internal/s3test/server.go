package s3test

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// Tool is the S3 server's binary (images/tools.conf; images/hack/gotools.sh builds it).
	Tool = "versitygw"
	// Region is the server's region, in the rclone sections too.
	Region = "us-east-1"
	// ReadyTimeout bounds the wait for the server to answer.
	ReadyTimeout = 30 * time.Second
	// StopTimeout bounds the wait for the server to exit after SIGTERM.
	StopTimeout  = 10 * time.Second
	pollInterval = 20 * time.Millisecond
	startTries   = 3
)

// Options configure a server.
type Options struct {
	// TLS serves HTTPS with a certificate from a generated CA (Server.CAFile).
	TLS bool
}

// Server is a running versitygw with a posix backend in a temporary directory.
type Server struct {
	// Endpoint is the base URL, http://127.0.0.1:PORT or https://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root user's credentials (random per server).
	AccessKey, SecretKey string
	// Root is the posix backend's directory: one subdirectory per bucket, objects below.
	Root string
	// CAFile is the CA that signed the server's certificate (TLS only).
	CAFile string

	cmd    *exec.Cmd
	mu     sync.Mutex
	output bytes.Buffer
	done   chan struct{}
	client *http.Client
}

// Start starts a server for the test and stops it at the test's cleanup (printing its output
// when the test failed). The posix backend needs a filesystem with user extended attributes.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin, err := exec.LookPath(Tool)
	if err != nil {
		t.Fatalf("%s not found in PATH (images/hack/gotools.sh %s)", Tool, Tool)
	}
	dir := t.TempDir()
	s := &Server{Root: filepath.Join(dir, "root"), AccessKey: "AKIA" + strings.ToUpper(randomHex(8)), SecretKey: randomHex(20)}
	if err := os.Mkdir(s.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	var certs certFiles
	s.client = &http.Client{Timeout: 5 * time.Second}
	if o.TLS {
		if certs, err = writeCerts(dir); err != nil {
			t.Fatal(err)
		}
		s.CAFile = certs.CA
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(certs.CA)
		if err != nil {
			t.Fatal(err)
		}
		pool.AppendCertsFromPEM(pem)
		s.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	for try := 1; ; try++ {
		err := s.start(bin, certs, o.TLS)
		if err == nil {
			break
		}
		if try == startTries {
			t.Fatalf("starting %s: %v\n%s", Tool, err, s.Output())
		}
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", Tool, s.Output())
		}
	})
	return s
}

// start runs the server on a free port and waits until it answers; a port taken meanwhile
// makes it exit, and the caller tries again.
func (s *Server) start(bin string, certs certFiles, useTLS bool) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	scheme := "http"
	args := []string{"--access", s.AccessKey, "--secret", s.SecretKey, "--region", Region, "--port", "127.0.0.1:" + strconv.Itoa(port), "--quiet"}
	if useTLS {
		scheme = "https"
		args = append(args, "--cert", certs.Cert, "--key", certs.Key)
	}
	args = append(args, "posix", s.Root)
	s.Endpoint = scheme + "://127.0.0.1:" + strconv.Itoa(port)
	s.mu.Lock()
	s.output.Reset()
	s.mu.Unlock()
	cmd := exec.Command(bin, args...)
	// A clean environment: the machine's may carry VGW_* or ROOT_ACCESS_KEY settings.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout = lockedWriter{s}
	cmd.Stderr = lockedWriter{s}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(ReadyTimeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited during start-up", Tool)
		default:
		}
		if s.answers() {
			return nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("%s did not answer on %s within %s", Tool, s.Endpoint, ReadyTimeout)
		}
		time.Sleep(pollInterval) // polling interval, not synchronisation
	}
}

// answers reports whether the server gives an S3 answer to a signed request for its bucket list.
func (s *Server) answers() bool {
	resp, err := s.do(http.MethodGet, "/")
	if err != nil {
		return false
	}
	return resp.StatusCode == http.StatusOK
}

func (s *Server) do(method, path string) (*http.Response, error) {
	req, err := http.NewRequest(method, s.Endpoint+path, nil)
	if err != nil {
		return nil, err
	}
	sign(req, s.AccessKey, s.SecretKey, Region, time.Now())
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp, nil
}

// stop ends the server: SIGTERM, then SIGKILL after StopTimeout.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(StopTimeout):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// CreateBucket creates a bucket through the S3 API.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	resp, err := s.do(http.MethodPut, "/"+bucket)
	if err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("creating bucket %s: HTTP %s", bucket, resp.Status)
	}
}

// CopyCA copies the server's CA (TLS only) to dir/ca.crt, readable by every uid, as a mover
// mounts its customCA, and returns its path.
func (s *Server) CopyCA(t testing.TB, dir string) string {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return ca
}

// ObjectPath is where the posix backend keeps the object key of bucket.
func (s *Server) ObjectPath(bucket, key string) string {
	return filepath.Join(s.Root, bucket, filepath.FromSlash(key))
}

// Section is an rclone.conf section named name for the server with its credentials.
func (s *Server) Section(name string) string {
	return s.SectionWithKeys(name, s.AccessKey, s.SecretKey)
}

// SectionWithKeys is Section with other credentials (to test refused ones).
func (s *Server) SectionWithKeys(name, accessKey, secretKey string) string {
	return fmt.Sprintf("[%s]\ntype = s3\nprovider = Other\naccess_key_id = %s\nsecret_access_key = %s\nendpoint = %s\nregion = %s\nforce_path_style = true\n\n",
		name, accessKey, secretKey, s.Endpoint, Region)
}

// Output is what the server printed so far.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

type lockedWriter struct{ s *Server }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.output.Write(p)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
