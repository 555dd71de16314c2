package naming

import (
	"strings"
	"testing"
)

func TestShort(t *testing.T) {
	long := strings.Repeat("a", 60)
	// Expected hashes computed independently (python3 zlib.crc32).
	cases := []struct {
		prefix, name, want string
	}{
		{"volsync-rsync-tls-src-", "db", "volsync-rsync-tls-src-db"},
		{"p-", strings.Repeat("x", 61), "p-" + strings.Repeat("x", 61)},
		{"p-", strings.Repeat("x", 62), "p-4575b78c"},
		{"volsync-rsync-tls-dst-", long, "volsync-rsync-tls-dst-1f98bd29"},
	}
	for _, tc := range cases {
		got := Short(tc.prefix, tc.name)
		if len(got) > MaxLength {
			t.Errorf("Short(%q, %q) = %q is longer than %d", tc.prefix, tc.name, got, MaxLength)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("Short(%q, %q) = %q, want %q", tc.prefix, tc.name, got, tc.want)
		}
	}
	if Short("p-", long+"1") == Short("p-", long+"2") {
		t.Error("different long names must get different short names")
	}
}

func TestNames(t *testing.T) {
	if got := Job("rsync-tls", Source, "db"); got != "volsync-rsync-tls-src-db" {
		t.Errorf("Job = %q", got)
	}
	if got := Job("rsync-tls", Destination, "db"); got != "volsync-rsync-tls-dst-db" {
		t.Errorf("Job = %q", got)
	}
	if got := SourcePiT("db"); got != "volsync-db-src" {
		t.Errorf("SourcePiT = %q", got)
	}
	if got := MoverServiceAccount(Destination, "db"); got != "volsync-dst-db" {
		t.Errorf("MoverServiceAccount = %q", got)
	}
	if got := AppName(Source, "db"); got != "src-db" {
		t.Errorf("AppName = %q", got)
	}
}

func TestSecretKeepsNamesUpTo253(t *testing.T) {
	name := strings.Repeat("b", 200)
	if got := Secret("volsync-rsync-dst-main-", name); got != "volsync-rsync-dst-main-"+name {
		t.Fatalf("a 223-character name was shortened: %s", got)
	}
	long := strings.Repeat("c", 240)
	got := Secret("volsync-rsync-dst-main-", long)
	if len(got) != len("volsync-rsync-dst-main-")+8 || got == Secret("volsync-rsync-dst-main-", long+"d") {
		t.Fatalf("a 263-character name: got %s", got)
	}
}
