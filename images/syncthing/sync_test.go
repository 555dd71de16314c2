package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/contract/syncthing"
)

// TestTwoPeersSync: two movers configured through their APIs the way the controller does
// keep their volumes in sync: new files (nested directories, one larger than 1 MiB), a
// modification and a deletion propagate, both ways; lost+found does not. a is unprivileged
// (uid 65534), b privileged (root, PRIVILEGED_MOVER=1) when the tests run as root.
func TestTwoPeersSync(t *testing.T) {
	a, b := newPeer(t, "a", nobody), newPeer(t, "b", os.Geteuid())
	a.start(t)
	b.start(t)
	if os.Geteuid() == 0 && !strings.Contains(b.proc.Out(), "uid 0 gid 0, privileged") {
		t.Errorf("b's log:\n%s", b.proc.Out())
	}
	aID, bID := a.deviceID(t), b.deviceID(t)
	a.connect(t, bID, b)
	b.connect(t, aID, a)
	// New devices and a shared folder take effect at once.
	var restart struct {
		RequiresRestart bool `json:"requiresRestart"`
	}
	a.api(t, http.MethodGet, "/rest/config/restart-required", nil, &restart)
	if restart.RequiresRestart {
		t.Error("syncthing asks for a restart after the peers were added")
	}

	files := map[string][]byte{
		"top.txt":              []byte("top level\n"),
		"dir/one.txt":          []byte("one\n"),
		"dir/sub/deep/two.txt": []byte("two, deeper\n"),
		"dir/sub/big.bin":      randomBytes(1<<20 + 123457),
		"empty":                {},
	}
	for name, data := range files {
		writeFile(t, a, name, data)
	}
	writeFile(t, a, "lost+found/orphan", []byte("not synced\n"))
	a.scan(t)
	waitSynced(t, b, files)
	waitConnected(t, a, bID)

	// A modification and a deletion.
	files["dir/one.txt"] = []byte("one, modified: longer\n")
	writeFile(t, a, "dir/one.txt", files["dir/one.txt"])
	must(os.Remove(filepath.Join(a.Data, "dir/sub/deep/two.txt")))
	delete(files, "dir/sub/deep/two.txt")
	a.scan(t)
	waitSynced(t, b, files)

	// The other way round.
	files["from-b.txt"] = []byte("written on b\n")
	writeFile(t, b, "from-b.txt", files["from-b.txt"])
	b.scan(t)
	waitSynced(t, a, withLostFound(files))
	if _, err := os.Stat(filepath.Join(b.Data, "lost+found")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lost+found reached b: %v", err)
	}

	// What the controller reads for its status: the connection and the peer's completion.
	poll(t, syncTimeout, func() string {
		var c struct {
			Completion float64 `json:"completion"`
			NeedItems  int     `json:"needItems"`
		}
		a.api(t, http.MethodGet, "/rest/db/completion?folder="+syncthing.FolderID+"&device="+bID, nil, &c)
		if c.Completion != 100 || c.NeedItems != 0 {
			return fmt.Sprintf("completion of b seen by a: %+v", c)
		}
		return ""
	})
	var conns, completion map[string]any
	a.api(t, http.MethodGet, "/rest/system/connections", nil, &conns)
	a.api(t, http.MethodGet, "/rest/db/completion?folder="+syncthing.FolderID+"&device="+bID, nil, &completion)
	t.Logf("a's /rest/system/connections: %s\na's /rest/db/completion of b: %s", describe(conns), describe(completion))
}

// withLostFound is want plus a's lost+found file, which stays on a only.
func withLostFound(want map[string][]byte) map[string][]byte {
	w := map[string][]byte{"lost+found/orphan": []byte("not synced\n")}
	for k, v := range want {
		w[k] = v
	}
	return w
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	must(err)
	return b
}

// writeFile writes a file of the application (owned by the mover's uid) into p's volume.
func writeFile(t *testing.T, p *peer, name string, data []byte) {
	t.Helper()
	path := filepath.Join(p.Data, name)
	for d := filepath.Dir(path); d != p.Data; d = filepath.Dir(d) {
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			defer func(d string) { must(os.Chown(d, p.UID, p.UID)) }(d)
		}
	}
	must(os.MkdirAll(filepath.Dir(path), 0o755))
	must(os.WriteFile(path, data, 0o644))
	must(os.Chown(path, p.UID, p.UID))
}

// tree is the regular files of p's volume but syncthing's own (.stfolder, .stignore,
// temporary files).
func tree(t *testing.T, p *peer) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(p.Data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p.Data, path)
		switch {
		case rel == ".stfolder" || rel == ".stversions":
			return filepath.SkipDir
		case rel == IgnoreFile || strings.HasPrefix(d.Name(), ".syncthing.") || strings.HasPrefix(d.Name(), "~syncthing~"):
			return nil
		case d.Type().IsRegular():
			b, err := os.ReadFile(path)
			got[rel] = b
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitSynced waits until p's volume holds exactly want.
func waitSynced(t *testing.T, p *peer, want map[string][]byte) {
	t.Helper()
	poll(t, syncTimeout, func() string {
		got := tree(t, p)
		var diff []string
		for name, data := range want {
			if g, ok := got[name]; !ok {
				diff = append(diff, "missing "+name)
			} else if !bytes.Equal(g, data) {
				diff = append(diff, fmt.Sprintf("%s: %d bytes differ from %d", name, len(g), len(data)))
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				diff = append(diff, "extra "+name)
			}
		}
		sort.Strings(diff)
		if len(diff) > 0 {
			return filepath.Base(p.Dir) + " not in sync: " + strings.Join(diff, ", ")
		}
		return ""
	})
}

// waitConnected waits until p reports a connection to device id.
func waitConnected(t *testing.T, p *peer, id string) {
	t.Helper()
	poll(t, syncTimeout, func() string {
		var c struct {
			Connections map[string]struct {
				Connected bool   `json:"connected"`
				Address   string `json:"address"`
				Type      string `json:"type"`
			} `json:"connections"`
		}
		p.api(t, http.MethodGet, "/rest/system/connections", nil, &c)
		if !c.Connections[id].Connected {
			return fmt.Sprintf("not connected to %s: %s", id, describe(c))
		}
		return ""
	})
}
