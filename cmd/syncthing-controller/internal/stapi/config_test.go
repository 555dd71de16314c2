package stapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const (
	me    = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
	peerB = "BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB"
	peerC = "CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC"
	intro = "DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD-DDDDDDD"
	gone  = "EEEEEEE-EEEEEEE-EEEEEEE-EEEEEEE-EEEEEEE-EEEEEEE-EEEEEEE-EEEEEEE"
)

// parse decodes a configuration as the client does (numbers kept exact).
func parse(t *testing.T, s string) Config {
	t.Helper()
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	return Config{raw: raw}
}

const current = `{"version": 37, "options": {"maxSendKbps": 12345678901234},
 "gui": {"user": "syncthing", "password": "$2a$10$hash", "apiKey": "k"},
 "devices": [
  {"deviceID": "` + me + `", "name": "me", "addresses": ["dynamic"], "compression": "metadata"},
  {"deviceID": "` + peerB + `", "name": "b", "addresses": ["tcp://old:22000"], "introducer": false, "compression": "metadata"},
  {"deviceID": "` + intro + `", "name": "introduced", "addresses": ["dynamic"], "introducedBy": "` + peerB + `"},
  {"deviceID": "` + gone + `", "name": "removed", "addresses": ["tcp://e:22000"]}
 ],
 "folders": [{"id": "f", "path": "/data", "label": "synced volume", "rescanIntervalS": 3600,
  "devices": [{"deviceID": "` + me + `", "introducedBy": "", "encryptionPassword": ""},
              {"deviceID": "` + gone + `", "introducedBy": "", "encryptionPassword": ""}]}]}`

func desired() Desired {
	return Desired{
		MyID: me, Folder: "f", Path: "/data", Username: "syncthing", Password: "secret",
		Peers:     []Peer{{ID: peerB, Address: "tcp://b:22000", Introducer: true}, {ID: peerC, Address: "tcp://c:22000"}},
		NewDevice: map[string]any{"compression": "metadata", "autoAcceptFolders": false},
	}
}

func ids(devs []Device) []string {
	var out []string
	for _, d := range devs {
		out = append(out, d.ID)
	}
	return out
}

func TestApply(t *testing.T) {
	cfg := parse(t, current)
	if !cfg.NeedsDefaults(desired()) {
		t.Error("a new peer needs syncthing's device defaults")
	}
	if !cfg.Apply(desired()) {
		t.Fatal("Apply reported no change")
	}
	// Self, the updated peer, the introduced device kept, the removed peer dropped, the new
	// peer added from the defaults.
	if got, want := ids(cfg.Devices()), []string{me, peerB, intro, peerC}; !reflect.DeepEqual(got, want) {
		t.Errorf("devices %v, want %v", got, want)
	}
	for _, d := range cfg.Devices() {
		switch d.ID {
		case peerB:
			if !d.Introducer || !reflect.DeepEqual(d.Addresses, []string{"tcp://b:22000"}) || d.Name != "b" {
				t.Errorf("peer B %+v: address and introducer from the spec, name kept", d)
			}
		case peerC:
			if d.Introducer || !reflect.DeepEqual(d.Addresses, []string{"tcp://c:22000"}) {
				t.Errorf("peer C %+v", d)
			}
		}
	}
	shared, ok := cfg.FolderDevices("f")
	if !ok || !reflect.DeepEqual(shared, []string{me, peerB, peerC, intro}) {
		t.Errorf("folder shared with %v: every device, existing entries first", shared)
	}
	if cfg.raw["gui"].(map[string]any)["password"] != "$2a$10$hash" {
		t.Error("a set password is left as syncthing stored it")
	}
	// Fields the controller does not manage go back as they came, numbers exact.
	out, err := json.Marshal(cfg.raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"maxSendKbps":12345678901234`, `"rescanIntervalS":3600`, `"apiKey":"k"`, `"version":37`} {
		if !json.Valid(out) || !strings.Contains(string(out), want) {
			t.Errorf("the configuration lost %s", want)
		}
	}
	// Idempotent: applying again changes nothing (no PUT at every poll).
	if cfg.Apply(desired()) {
		t.Error("a second Apply reported a change")
	}
	if cfg.NeedsDefaults(desired()) {
		t.Error("defaults needed once every peer is configured")
	}
}

func TestApplyCredentialsAndOwnership(t *testing.T) {
	cfg := parse(t, `{"gui": {"user": "", "password": ""}, "devices": [{"deviceID": "`+me+`"}],
	 "folders": [{"id": "f", "path": "/data", "devices": [{"deviceID": "`+me+`", "introducedBy": "", "encryptionPassword": ""}]}]}`)
	d := desired()
	d.Peers, d.Ownership = nil, true
	if !cfg.Apply(d) {
		t.Fatal("no change reported")
	}
	gui := cfg.raw["gui"].(map[string]any)
	if gui["user"] != "syncthing" || gui["password"] != "secret" {
		t.Errorf("GUI credentials %v", gui)
	}
	f := cfg.folder("f")
	if f["sendOwnership"] != true || f["syncOwnership"] != true || f["path"] != "/data" {
		t.Errorf("folder %v: a privileged mover keeps ownership", f)
	}
	if cfg.Apply(d) {
		t.Error("a second Apply reported a change")
	}
}

func TestApplyMakesMissingFolder(t *testing.T) {
	cfg := parse(t, `{"devices": [{"deviceID": "`+me+`"}], "folders": []}`)
	d := desired()
	d.Peers = nil
	d.NewFolder = map[string]any{"rescanIntervalS": json.Number("3600"), "fsWatcherEnabled": true}
	if !cfg.NeedsDefaults(d) || !cfg.Apply(d) {
		t.Fatal("a missing folder is made from the defaults")
	}
	f := cfg.folder("f")
	if f == nil || f["path"] != "/data" || f["fsWatcherEnabled"] != true {
		t.Errorf("folder %v", f)
	}
}
