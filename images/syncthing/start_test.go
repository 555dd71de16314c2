package main

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/contract/syncthing"
)

// xmlConfig is what the tests read of a config.xml.
type xmlConfig struct {
	Version int `xml:"version,attr"`
	Folders []struct {
		ID    string `xml:"id,attr"`
		Label string `xml:"label,attr"`
		Path  string `xml:"path,attr"`
		Type  string `xml:"type,attr"`
	} `xml:"folder"`
	GUI struct {
		TLS     bool   `xml:"tls,attr"`
		Address string `xml:"address"`
	} `xml:"gui"`
	ListenAddresses []string `xml:"options>listenAddress"`
}

func readConfig(t *testing.T, p *peer) ([]byte, xmlConfig) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.config, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var c xmlConfig
	if err := xml.Unmarshal(b, &c); err != nil {
		t.Fatalf("config.xml: %v\n%s", err, b)
	}
	return b, c
}

// apiConfig is what the tests read of GET /rest/config.
type apiConfig struct {
	Version int `json:"version"`
	Folders []struct {
		ID               string `json:"id"`
		Label            string `json:"label"`
		Path             string `json:"path"`
		Type             string `json:"type"`
		FSWatcherEnabled bool   `json:"fsWatcherEnabled"`
		MarkerName       string `json:"markerName"`
		MaxConflicts     int    `json:"maxConflicts"`
		Devices          []struct {
			DeviceID string `json:"deviceID"`
		} `json:"devices"`
	} `json:"folders"`
	Devices []struct {
		DeviceID string `json:"deviceID"`
	} `json:"devices"`
	GUI struct {
		User   string `json:"user"`
		UseTLS bool   `json:"useTLS"`
	} `json:"gui"`
	Options struct {
		ListenAddresses       []string `json:"listenAddresses"`
		GlobalAnnounceEnabled bool     `json:"globalAnnounceEnabled"`
		LocalAnnounceEnabled  bool     `json:"localAnnounceEnabled"`
		RelaysEnabled         bool     `json:"relaysEnabled"`
		NATEnabled            bool     `json:"natEnabled"`
		URAccepted            int      `json:"urAccepted"`
		AutoUpgradeIntervalH  int      `json:"autoUpgradeIntervalH"`
		CrashReportingEnabled bool     `json:"crashReportingEnabled"`
	} `json:"options"`
}

// TestFirstStart: an empty configuration volume gets config.xml (the one folder on the data
// directory), syncthing makes its device certificate and serves the API over HTTPS with the
// Secret's certificate, only with the API key; .stignore and the API's files are written.
func TestFirstStart(t *testing.T) {
	p := newPeer(t, "first", nobody)
	p.start(t)

	// config.xml is the template, untouched by syncthing (no migration: its version).
	doc, xc := readConfig(t, p)
	want, err := renderConfig(Config{DataDir: p.Data, APIAddress: "127.0.0.1:" + strconv.Itoa(p.apiPort), ListenAddress: p.listenAddress()})
	must(err)
	if !bytes.Equal(doc, want) {
		t.Errorf("config.xml was rewritten:\n%s", doc)
	}
	if xc.Version != ConfigVersion || len(xc.Folders) != 1 || xc.Folders[0].ID != syncthing.FolderID ||
		xc.Folders[0].Path != p.Data || xc.Folders[0].Label != syncthing.FolderLabel || xc.Folders[0].Type != "sendreceive" ||
		!xc.GUI.TLS || !slices.Equal(xc.ListenAddresses, []string{p.listenAddress()}) {
		t.Errorf("config.xml: %+v", xc)
	}
	if _, err := os.ReadDir(p.config); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, "cert.pem", "key.pem", syncthing.HTTPSCertFile, syncthing.HTTPSKeyFile} {
		if _, uid := fileMode(t, filepath.Join(p.config, f)); uid != nobody {
			t.Errorf("%s is owned by uid %d", f, uid)
		}
	}
	for _, f := range []string{syncthing.HTTPSCertFile, syncthing.HTTPSKeyFile, ConfigFile} {
		if mode, _ := fileMode(t, filepath.Join(p.config, f)); mode != 0o600 {
			t.Errorf("%s has mode %o, want 0600", f, mode)
		}
	}
	for _, f := range []string{syncthing.HTTPSCertFile, syncthing.HTTPSKeyFile} {
		got, err := os.ReadFile(filepath.Join(p.config, f))
		must(err)
		secret, err := os.ReadFile(filepath.Join(p.certs, f))
		must(err)
		if !bytes.Equal(got, secret) {
			t.Errorf("%s is not the Secret's", f)
		}
	}
	if b, err := os.ReadFile(filepath.Join(p.Data, IgnoreFile)); err != nil || string(b) != "lost+found\n" {
		t.Errorf(".stignore: %q %v", b, err)
	}

	// The API: HTTPS with exactly the Secret's certificate, the API key required.
	resp, err := p.request(http.MethodGet, "/rest/system/status", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 || !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, p.certDER) {
		t.Errorf("the API does not serve the Secret's certificate")
	}
	checkRefused(t, p)

	// syncthing made its device certificate and added its device to the folder.
	id := p.deviceID(t)
	var cfg apiConfig
	p.api(t, http.MethodGet, "/rest/config", nil, &cfg)
	if len(cfg.Devices) != 1 || cfg.Devices[0].DeviceID != id {
		t.Errorf("devices %s, want only %s", describe(cfg.Devices), id)
	}
	if len(cfg.Folders) != 1 {
		t.Fatalf("folders %s", describe(cfg.Folders))
	}
	f := cfg.Folders[0]
	if f.ID != syncthing.FolderID || f.Path != p.Data || f.Type != "sendreceive" || f.Label != syncthing.FolderLabel ||
		!f.FSWatcherEnabled || f.MarkerName != ".stfolder" || f.MaxConflicts != 10 || len(f.Devices) != 1 || f.Devices[0].DeviceID != id {
		t.Errorf("folder %s", describe(f))
	}
	o := cfg.Options
	if !slices.Equal(o.ListenAddresses, []string{p.listenAddress()}) || o.GlobalAnnounceEnabled || o.LocalAnnounceEnabled ||
		o.RelaysEnabled || o.NATEnabled || o.URAccepted != -1 || o.AutoUpgradeIntervalH != 0 || o.CrashReportingEnabled || !cfg.GUI.UseTLS {
		t.Errorf("options %s gui %s", describe(o), describe(cfg.GUI))
	}

	// syncthing replaced the mover (exec): same process, no child.
	pid := p.proc.Cmd.Process.Pid
	if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err != nil || filepath.Base(exe) != Tool {
		t.Errorf("pid %d runs %q (%v), want syncthing", pid, exe, err)
	}
	if children := childProcesses(t, pid); len(children) > 0 {
		t.Errorf("syncthing (pid %d) has child processes %v (a monitor process?)", pid, children)
	}

	out := p.proc.Out() + p.proc.ErrOut()
	for _, w := range []string{"Starting syncthing v1.30.0", "config.xml created", ".stignore created", "uid 65534", "unprivileged"} {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in the log:\n%s", w, out)
		}
	}
	if strings.Contains(out, p.apiKey) {
		t.Error("the log shows the API key")
	}
}

// checkRefused checks that the API refuses requests without the key or with a wrong one.
func checkRefused(t *testing.T, p *peer) {
	t.Helper()
	for _, key := range []string{"", "wrong-key"} {
		req, err := http.NewRequest(http.MethodGet, "https://127.0.0.1:"+strconv.Itoa(p.apiPort)+"/rest/system/status", nil)
		must(err)
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		resp, err := p.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		// syncthing answers 403 (no GUI user: "CSRF Error"; with one and no basic
		// authentication prompt: "Forbidden"), 401 only with sendBasicAuthPrompt.
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("key %q: %s, want 403 or 401", key, resp.Status)
		}
	}
}

// TestRestart: a restarted mover keeps the device ID and the configuration the controller
// made through the API; only the addresses follow the environment, and a rotated API
// certificate takes effect.
func TestRestart(t *testing.T) {
	p := newPeer(t, "restart", nobody)
	p.start(t)
	id := p.deviceID(t)
	deviceCert, err := os.ReadFile(filepath.Join(p.config, "cert.pem"))
	must(err)
	// What the controller does: GUI credentials, and here a folder label.
	p.api(t, http.MethodPatch, "/rest/config/gui", map[string]any{"user": syncthing.Username, "password": "pa55word"}, nil)
	// A change of the GUI settings restarts the API listener: it refuses connections for a
	// moment.
	p.waitAPI(t)
	p.api(t, http.MethodPatch, "/rest/config/folders/"+syncthing.FolderID, map[string]any{"label": "changed through the API"}, nil)
	before, _ := readConfig(t, p)
	if !bytes.Contains(before, []byte("changed through the API")) || !bytes.Contains(before, []byte("<user>"+syncthing.Username+"</user>")) {
		t.Fatalf("syncthing did not save the changes:\n%s", before)
	}
	p.stop(t)

	// New ports and a rotated API certificate.
	oldListen := p.listenAddress()
	p.newPorts(t)
	certPEM, keyPEM, der := newCert(t, timeIn(400))
	must(os.WriteFile(filepath.Join(p.certs, syncthing.HTTPSCertFile), certPEM, 0o644))
	must(os.WriteFile(filepath.Join(p.certs, syncthing.HTTPSKeyFile), keyPEM, 0o644))
	p.certDER = der
	p.client = clientFor(t, der)
	p.start(t)

	if got := p.deviceID(t); got != id {
		t.Errorf("device ID %s after the restart, was %s", got, id)
	}
	if b, err := os.ReadFile(filepath.Join(p.config, "cert.pem")); err != nil || !bytes.Equal(b, deviceCert) {
		t.Errorf("the device certificate changed (%v)", err)
	}
	after, xc := readConfig(t, p)
	wantDoc := bytes.Replace(before, []byte("<listenAddress>"+oldListen+"</listenAddress>"), []byte("<listenAddress>"+p.listenAddress()+"</listenAddress>"), 1)
	if !bytes.Equal(after, wantDoc) {
		t.Errorf("config.xml changed beyond its listen address:\nbefore\n%s\nafter\n%s", before, after)
	}
	if !slices.Equal(xc.ListenAddresses, []string{p.listenAddress()}) {
		t.Errorf("listen addresses %v", xc.ListenAddresses)
	}
	var cfg apiConfig
	p.api(t, http.MethodGet, "/rest/config", nil, &cfg)
	if len(cfg.Folders) != 1 || cfg.Folders[0].Label != "changed through the API" || cfg.GUI.User != syncthing.Username ||
		!slices.Equal(cfg.Options.ListenAddresses, []string{p.listenAddress()}) {
		t.Errorf("config after the restart: %s", describe(cfg))
	}
	resp, err := p.request(http.MethodGet, "/rest/system/ping", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, der) {
		t.Error("the API does not serve the rotated certificate")
	}
	checkRefused(t, p)
	if out := p.proc.Out(); !strings.Contains(out, "config.xml kept, listen address set") || !strings.Contains(out, ".stignore kept") {
		t.Errorf("log:\n%s", out)
	}
}

// childProcesses lists the processes whose parent is pid.
func childProcesses(t *testing.T, pid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	must(err)
	var children []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...: comm may hold spaces, the last ')' ends it.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			children = append(children, e.Name()+" "+strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " "))
		}
	}
	return children
}
