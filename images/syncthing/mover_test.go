package main

// Tests of the entrypoint binary with real syncthing processes on loopback, each started
// through `volsync-syncthing run` as uid 65534 with its own configuration, data and
// certificate directories, API key and ports. The tool comes from images/hack/gotools.sh
// (export PATH="$(images/hack/gotools.sh syncthing):$PATH"); with CI=true a missing tool
// fails the tests instead of skipping them.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/syncthing"
	"github.com/volsync-go/volsync/images/internal/movertest"
)

const (
	nobody = movertest.Nobody
	// apiServerName is the DNS name of the tests' API certificates (the controller's would be
	// the API Service's name).
	apiServerName = "syncthing-api"
	// startTimeout bounds a syncthing start until its API answers; syncTimeout, a change
	// reaching the other peer.
	startTimeout = 60 * time.Second
	syncTimeout  = 90 * time.Second
	pollInterval = 50 * time.Millisecond
)

var (
	moverBin   string
	missing    string
	scratchDir string
	// toolsBin holds syncthing for movers of any uid (the build cache is private to root).
	toolsBin string
)

func TestMain(m *testing.M) {
	movertest.MainWithTools(m, movertest.Setup{Bin: "volsync-syncthing", Scratch: &scratchDir, Mover: &moverBin},
		movertest.Tools{Need: []string{Tool}, Link: []string{Tool}, Missing: &missing, Bin: &toolsBin})
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// peer is one mover's world: the volumes (data, config), the Secret's certificate directory,
// the API key and the ports.
type peer struct {
	*movertest.Env
	config, certs string
	apiKey        string
	apiPort       int
	dataPort      int
	// certDER is the API certificate the mover was given.
	certDER []byte
	client  *http.Client
	proc    *movertest.Process
}

// newPeer makes a peer's directories owned by uid (the volumes; the certificate directory is
// root's, its files readable by all, as a Secret's mount) with a new API certificate and key.
func newPeer(t *testing.T, name string, uid int) *peer {
	t.Helper()
	movertest.RequireTools(t, missing)
	p := &peer{Env: movertest.NewEnv(t, scratchDir, name, uid)}
	p.config = filepath.Join(p.Dir, "config")
	must(os.Mkdir(p.config, 0o755))
	must(os.Chown(p.config, uid, uid))
	p.certs = filepath.Join(p.Dir, "certs")
	must(os.Mkdir(p.certs, 0o755))
	var certPEM, keyPEM []byte
	certPEM, keyPEM, p.certDER = newCert(t, timeIn(365))
	must(os.WriteFile(filepath.Join(p.certs, syncthing.HTTPSCertFile), certPEM, 0o644))
	must(os.WriteFile(filepath.Join(p.certs, syncthing.HTTPSKeyFile), keyPEM, 0o644))
	p.apiKey = randomKey()
	p.newPorts(t)
	p.client = clientFor(t, p.certDER)
	return p
}

// clientFor is an API client that trusts exactly the certificate der, as the controller does.
func clientFor(t *testing.T, der []byte) *http.Client {
	cert, err := x509.ParseCertificate(der)
	must(err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: apiServerName, MinVersion: tls.VersionTLS12},
	}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// timeIn is the time days from now.
func timeIn(days int) time.Time { return time.Now().Add(time.Duration(days) * 24 * time.Hour) }

// newPorts picks new free ports for the API and the peers' connections.
func (p *peer) newPorts(t *testing.T) {
	p.apiPort, p.dataPort = movertest.FreePort(t), movertest.FreePort(t)
	for p.dataPort == p.apiPort {
		p.dataPort = movertest.FreePort(t)
	}
}

// newCert makes a self-signed ECDSA certificate for apiServerName valid until notAfter: PEM
// certificate, PEM key, DER certificate.
func newCert(t *testing.T, notAfter time.Time) (certPEM, keyPEM, der []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: apiServerName},
		DNSNames:     []string{apiServerName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(err)
	kb, err := x509.MarshalECPrivateKey(key)
	must(err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), der
}

func randomKey() string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	must(err)
	return hex.EncodeToString(b)
}

// vars are the controller's variables for the peer.
func (p *peer) vars() []string {
	return append(p.BaseEnv(),
		"PATH="+toolsBin+":"+os.Getenv("PATH"),
		syncthing.EnvDataDir+"="+p.Data,
		syncthing.EnvConfigDir+"="+p.config,
		syncthing.EnvCertDir+"="+p.certs,
		syncthing.EnvAPIKey+"="+p.apiKey,
		syncthing.EnvAPIAddress+"=127.0.0.1:"+strconv.Itoa(p.apiPort),
		syncthing.EnvListenAddress+"="+p.listenAddress(),
		mover.EnvPrivileged+"="+strconv.Itoa(map[bool]int{true: 1}[p.UID == 0]),
	)
}

func (p *peer) listenAddress() string { return "tcp://127.0.0.1:" + strconv.Itoa(p.dataPort) }

// start runs `volsync-syncthing run` and waits until syncthing's API answers.
func (p *peer) start(t *testing.T) {
	t.Helper()
	p.proc = p.Start(p.vars(), moverBin, syncthing.CommandRun)
	p.waitAPI(t)
}

// waitAPI waits until syncthing's API answers (after a start, or a change of the GUI
// settings: syncthing restarts its API listener then).
func (p *peer) waitAPI(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		resp, err := p.request(http.MethodGet, "/rest/system/ping", nil, true)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if !p.proc.Running() {
			t.Fatalf("%s exited before its API answered: stdout %s\nstderr %s", p.Dir, p.proc.Out(), p.proc.ErrOut())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: API not answering after %s: %v", p.Dir, startTimeout, err)
		}
		<-tick.C
	}
}

// stop stops syncthing the way Kubernetes does (SIGTERM) and waits for it to exit.
func (p *peer) stop(t *testing.T) {
	t.Helper()
	must(p.proc.Cmd.Process.Signal(syscall.SIGTERM))
	if rc := p.proc.Wait(t, movertest.ExitTimeout); rc != 0 {
		t.Errorf("syncthing exited with %d after SIGTERM, want 0", rc)
	}
	p.client.CloseIdleConnections()
}

// request sends an API request, with the API key when withKey.
func (p *peer) request(method, path string, body []byte, withKey bool) (*http.Response, error) {
	req, err := http.NewRequest(method, "https://127.0.0.1:"+strconv.Itoa(p.apiPort)+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if withKey {
		req.Header.Set("X-API-Key", p.apiKey)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return p.client.Do(req)
}

// api calls the API with the key, expects 200 and decodes the JSON answer into out (unless
// nil).
func (p *peer) api(t *testing.T, method, path string, in, out any) {
	t.Helper()
	var body []byte
	if in != nil {
		var err error
		body, err = json.Marshal(in)
		must(err)
	}
	// A transport error is retried: syncthing restarts its API listener after a change of
	// the GUI settings (the requests here are idempotent).
	deadline := time.Now().Add(startTimeout)
	resp, err := p.request(method, path, body, true)
	for err != nil && time.Now().Before(deadline) && p.proc.Running() {
		<-time.After(pollInterval)
		resp, err = p.request(method, path, body, true)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	must(err)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// deviceID is the peer's syncthing device ID.
func (p *peer) deviceID(t *testing.T) string {
	t.Helper()
	var st struct {
		MyID string `json:"myID"`
	}
	p.api(t, http.MethodGet, "/rest/system/status", nil, &st)
	if st.MyID == "" {
		t.Fatal("no myID in /rest/system/status")
	}
	return st.MyID
}

// scan asks syncthing to scan the folder now (the watcher would wait fsWatcherDelayS).
func (p *peer) scan(t *testing.T) {
	t.Helper()
	p.api(t, http.MethodPost, "/rest/db/scan?folder="+syncthing.FolderID, nil, nil)
}

// connect makes other a device of p, at its listen address, and shares the folder with it,
// the way the controller does: the whole configuration read, changed and written back.
func (p *peer) connect(t *testing.T, otherID string, other *peer) {
	t.Helper()
	var cfg map[string]any
	p.api(t, http.MethodGet, "/rest/config", nil, &cfg)
	cfg["devices"] = append(cfg["devices"].([]any), map[string]any{
		"deviceID":  otherID,
		"name":      filepath.Base(other.Dir),
		"addresses": []string{other.listenAddress()},
	})
	found := false
	for _, f := range cfg["folders"].([]any) {
		folder := f.(map[string]any)
		if folder["id"] == syncthing.FolderID {
			folder["devices"] = append(folder["devices"].([]any), map[string]any{"deviceID": otherID})
			found = true
		}
	}
	if !found {
		t.Fatalf("no folder %s in %v", syncthing.FolderID, cfg["folders"])
	}
	p.api(t, http.MethodPut, "/rest/config", cfg, nil)
}

// poll calls cond until it returns "" (done) or the deadline passes; cond's last answer says
// what is missing.
func poll(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, why)
		}
		<-tick.C
	}
}

// fileMode is path's permission bits and its owner.
func fileMode(t *testing.T, path string) (os.FileMode, int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm(), int(fi.Sys().(*syscall.Stat_t).Uid)
}

func describe(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
