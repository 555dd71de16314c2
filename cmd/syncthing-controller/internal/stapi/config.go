package stapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
)

// Config is a syncthing configuration as the API returns it. Only the parts the controller
// manages are touched (devices, the folder's sharing and ownership options, the GUI
// credentials); everything else is sent back as it came.
type Config struct {
	raw map[string]any
}

// Device is a configured device.
type Device struct {
	ID           string
	Name         string
	Addresses    []string
	Introducer   bool
	IntroducedBy string
}

// Devices returns the configured devices.
func (c Config) Devices() []Device {
	var out []Device
	for _, d := range objects(c.raw["devices"]) {
		out = append(out, Device{
			ID: str(d["deviceID"]), Name: str(d["name"]), Addresses: strs(d["addresses"]),
			Introducer: d["introducer"] == true, IntroducedBy: str(d["introducedBy"]),
		})
	}
	return out
}

// FolderDevices returns the devices folder is shared with ("" and false when it does not exist).
func (c Config) FolderDevices(folder string) ([]string, bool) {
	f := c.folder(folder)
	if f == nil {
		return nil, false
	}
	var ids []string
	for _, d := range objects(f["devices"]) {
		ids = append(ids, str(d["deviceID"]))
	}
	return ids, true
}

func (c Config) folder(id string) map[string]any {
	for _, f := range objects(c.raw["folders"]) {
		if str(f["id"]) == id {
			return f
		}
	}
	return nil
}

// Peer is a device the user configured (spec.syncthing.peers).
type Peer struct {
	ID         string
	Address    string
	Introducer bool
}

// Desired is what the controller manages of a syncthing's configuration.
type Desired struct {
	// MyID is the device's own ID (kept, never shared with itself).
	MyID string
	// Peers are the user's peers; devices introduced by an introducer are kept besides them,
	// any other device is removed.
	Peers []Peer
	// Folder is the ID of the synchronized folder, shared with every device. Path is its
	// directory when the folder must be made again (the mover's configuration has it from
	// the start; an existing folder's path is left as the mover set it).
	Folder, Path string
	// Username and Password are the GUI credentials (set when the user differs or no
	// password is set; syncthing stores a hash).
	Username, Password string
	// Ownership makes the folder send and apply file ownership (a privileged mover).
	Ownership bool
	// NewDevice and NewFolder are syncthing's defaults for a device or folder the controller
	// adds (GET /rest/config/defaults/...); nil: an empty object.
	NewDevice, NewFolder map[string]any
}

// Apply changes c to d and reports whether anything changed.
func (c *Config) Apply(d Desired) bool {
	before := clone(c.raw)
	c.applyDevices(d)
	c.applyFolder(d)
	gui, _ := c.raw["gui"].(map[string]any)
	if gui == nil {
		gui = map[string]any{}
		c.raw["gui"] = gui
	}
	if str(gui["user"]) != d.Username || str(gui["password"]) == "" {
		gui["user"], gui["password"] = d.Username, d.Password
	}
	return !reflect.DeepEqual(before, c.raw)
}

func (c *Config) applyDevices(d Desired) {
	peers := map[string]Peer{}
	for _, p := range d.Peers {
		peers[p.ID] = p
	}
	var keep []any
	seen := map[string]bool{}
	for _, dev := range objects(c.raw["devices"]) {
		id := str(dev["deviceID"])
		p, isPeer := peers[id]
		switch {
		case id == d.MyID:
		case isPeer:
			dev["addresses"] = []any{p.Address}
			dev["introducer"] = p.Introducer
		case str(dev["introducedBy"]) != "":
		default:
			continue // a peer the user removed
		}
		seen[id] = true
		keep = append(keep, dev)
	}
	for _, p := range d.Peers {
		if seen[p.ID] || p.ID == d.MyID {
			continue
		}
		dev := clone(d.NewDevice)
		if dev == nil {
			dev = map[string]any{}
		}
		dev["deviceID"], dev["addresses"], dev["introducer"], dev["name"] = p.ID, []any{p.Address}, p.Introducer, ""
		seen[p.ID] = true
		keep = append(keep, dev)
	}
	c.raw["devices"] = keep
}

func (c *Config) applyFolder(d Desired) {
	f := c.folder(d.Folder)
	if f == nil {
		f = clone(d.NewFolder)
		if f == nil {
			f = map[string]any{}
		}
		f["id"], f["label"], f["type"], f["path"] = d.Folder, "synced volume", "sendreceive", d.Path
		c.raw["folders"] = append(anys(c.raw["folders"]), f)
	}
	f["sendOwnership"], f["syncOwnership"] = d.Ownership, d.Ownership
	// Shared with every device; entries already there are kept as they are, in syncthing's
	// order, so an unchanged configuration compares equal.
	existing := map[string]bool{}
	var shared []any
	want := map[string]bool{}
	for _, dev := range objects(c.raw["devices"]) {
		want[str(dev["deviceID"])] = true
	}
	for _, fd := range objects(f["devices"]) {
		if id := str(fd["deviceID"]); want[id] {
			existing[id] = true
			shared = append(shared, fd)
		}
	}
	var added []string
	for id := range want {
		if !existing[id] {
			added = append(added, id)
		}
	}
	slices.Sort(added)
	for _, id := range added {
		shared = append(shared, map[string]any{"deviceID": id, "introducedBy": "", "encryptionPassword": ""})
	}
	f["devices"] = shared
}

// Defaults returns syncthing's defaults for a new device and a new folder.
func (c *Client) Defaults(ctx context.Context) (device, folder map[string]any, err error) {
	if err := c.do(ctx, http.MethodGet, "/rest/config/defaults/device", nil, nil, &device); err != nil {
		return nil, nil, err
	}
	if err := c.do(ctx, http.MethodGet, "/rest/config/defaults/folder", nil, nil, &folder); err != nil {
		return nil, nil, err
	}
	return device, folder, nil
}

func objects(v any) []map[string]any {
	var out []map[string]any
	for _, e := range anys(v) {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func anys(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	var out []string
	for _, e := range anys(v) {
		out = append(out, str(e))
	}
	return out
}

// clone deep-copies a JSON object.
func clone(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
}

// NeedsDefaults reports whether Apply would add a device or the folder, for which syncthing's
// defaults (Client.Defaults) should be fetched first.
func (c Config) NeedsDefaults(d Desired) bool {
	if c.folder(d.Folder) == nil {
		return true
	}
	have := map[string]bool{}
	for _, dev := range c.Devices() {
		have[dev.ID] = true
	}
	for _, p := range d.Peers {
		if !have[p.ID] && p.ID != d.MyID {
			return true
		}
	}
	return false
}
