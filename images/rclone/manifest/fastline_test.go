package manifest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// sameAsJSON fails unless parseLine, when it accepts b, decodes it as json.Unmarshal does.
func sameAsJSON(t *testing.T, b []byte) bool {
	t.Helper()
	var fast, slow line
	if !parseLine(b, &fast) {
		return false
	}
	if err := json.Unmarshal(b, &slow); err != nil {
		t.Fatalf("parseLine accepted %q, json.Unmarshal refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q:\nparseLine      %+v\njson.Unmarshal %+v", b, fast, slow)
	}
	return true
}

// TestParseLineMatchesJSON: the lines Encode writes take the fast path (except strings that
// need escapes) and decode exactly as with encoding/json; odd lines fall back.
func TestParseLineMatchesJSON(t *testing.T) {
	entries := []Entry{
		{Path: Root, Type: Dir, Mode: 0o755, MTime: 1614834367123456789},
		{Path: "a/b c/ünï", Type: File, Mode: 0o4755, UID: 4294967295, GID: 7, MTime: -1, Size: 1 << 40,
			Xattrs: map[string][]byte{"user.a": {0, 1, 255}, "system.posix_acl_access": {}, "user.\xff": []byte("x")}},
		{Path: "bad\xfe", Type: Symlink, Target: "tar\xffget"},
		{Path: "link", Type: Symlink, Target: "../x y/z"},
	}
	fast := 0
	for _, e := range entries {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(toLine(e)); err != nil {
			t.Fatal(err)
		}
		if sameAsJSON(t, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))) {
			fast++
		}
	}
	if fast != len(entries) {
		t.Errorf("%d of %d encoded lines took the fast path", fast, len(entries))
	}
	for _, odd := range []string{
		`{"p":"quote\"d","t":"f"}`, `{"p":"x", "t":"f"}`, `{"P":"x"}`, `{"m":-1}`, `{"m":4294967296}`, `{"mt":1.5}`,
		`{"mt":01}`, `{"x":null}`, `{"pb":"!!"}`, `{"p":"x"}junk`, `{"p":"x",}`, `{"z":1}`, `{"s":-9223372036854775808}`, `{}`,
	} {
		sameAsJSON(t, []byte(odd))
	}
	if !sameAsJSON(t, []byte(`{"s":-9223372036854775808,"mt":9223372036854775807,"x":{}}`)) {
		t.Error("extreme integers fell back")
	}
	if sameAsJSON(t, []byte(`{"p":"`+strings.Repeat("\\n", 3)+`"}`)) {
		t.Error("escapes took the fast path")
	}
}

// FuzzParseLine: whatever parseLine accepts, encoding/json decodes identically.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{`{"p":".","t":"d","m":493,"u":0,"g":0,"mt":1}`, `{"x":{"user.k":"dg=="},"s":-5}`, `{"pb":"AAE=","lb":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { sameAsJSON(t, b) })
}
