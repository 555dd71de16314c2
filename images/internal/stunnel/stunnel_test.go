package stunnel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/contract/psk"
)

const key32 = "0123456789abcdef0123456789ABCDEF"

func TestWriteSecretsIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "psk.txt")
	if err := WriteSecrets(path, []psk.PSK{{Identity: "volsync", Key: key32}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	psks, err := ParsePSKFile(path)
	if err != nil || len(psks) != 1 || psks[0].Key != key32 {
		t.Fatalf("round trip: %v %v", psks, err)
	}
}

func TestParsePSKFileNamesFileNotKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "psk.txt")
	if err := os.WriteFile(path, []byte("volsync:"+strings.Repeat("zz", 16)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ParsePSKFile(path)
	if !errors.Is(err, psk.ErrMalformed) || !strings.Contains(err.Error(), "PSK file "+path+": malformed PSK: line 1: key is not hexadecimal") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "zzzz") {
		t.Fatalf("error shows key material: %v", err)
	}
	if _, err := ParsePSKFile(filepath.Join(t.TempDir(), "absent")); err == nil || !strings.Contains(err.Error(), "reading PSK file") {
		t.Fatalf("missing file: %v", err)
	}
}

// FuzzPSKFileMatchesContract: the mover accepts a key file exactly when the shared format
// (which the controller checks) accepts its content, and hands stunnel the same entries.
func FuzzPSKFileMatchesContract(f *testing.F) {
	for _, seed := range []string{
		"volsync:" + key32 + key32 + "\n", "a:" + key32 + "\r\nb:" + key32, "", "\n", "volsync:this-is-not-hex-but-long",
		"v:" + key32 + "a", ":" + key32, "a b:" + key32, "a:" + key32 + "\na:" + key32, "\xff:" + key32,
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "psk.txt")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fromFile, fileErr := ParsePSKFile(path)
		want, err := psk.Parse(data)
		if (fileErr == nil) != (err == nil) {
			t.Fatalf("file %v, contract %v", fileErr, err)
		}
		if fmt.Sprintf("%#v", fromFile) != fmt.Sprintf("%#v", want) {
			t.Fatalf("entries differ: %v vs %v", fromFile, want)
		}
		if err != nil {
			return
		}
		// What stunnel reads back is what the user gave.
		if err := WriteSecrets(path, fromFile); err != nil {
			t.Fatal(err)
		}
		again, err := ParsePSKFile(path)
		if err != nil || len(again) != len(want) {
			t.Fatalf("round trip: %v %v", again, err)
		}
		for i := range again {
			if again[i] != want[i] {
				t.Fatalf("round trip entry %d differs", i)
			}
		}
	})
}

func TestRenderTLS13PSKOnly(t *testing.T) {
	server, err := ServerConfig{ListenAddress: ":::8000", SecretsFile: "/tmp/x/psk.txt", ExecPath: "/usr/bin/rsync", ExecArgs: []string{"rsync", "--daemon"}}.Render()
	if err != nil {
		t.Fatal(err)
	}
	client, err := ClientConfig{Connect: "fd00::1:8000", SecretsFile: "/tmp/x/psk.txt", Identity: "volsync", LogFile: "/tmp/x/log"}.Render()
	if err != nil {
		t.Fatal(err)
	}
	for name, conf := range map[string]string{"server": server, "client": client} {
		for _, want := range []string{"sslVersionMin = TLSv1.3", "sslVersionMax = TLSv1.3", "ciphersuites = " + Ciphersuites, "PSKsecrets = /tmp/x/psk.txt", "pid = \n", "syslog = no"} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s config lacks %q:\n%s", name, want, conf)
			}
		}
		if strings.Contains(conf, "cert =") {
			t.Errorf("%s config uses a certificate", name)
		}
	}
	if !strings.Contains(server, "foreground = yes") || !strings.Contains(server, "execArgs = rsync --daemon") {
		t.Errorf("server config:\n%s", server)
	}
	if strings.Contains(client, "accept") || strings.Contains(client, "[") {
		t.Errorf("client must be in inetd mode (no accept, no section):\n%s", client)
	}
	if _, err := (ClientConfig{Connect: "a\nexec = /bin/sh"}).Render(); err == nil {
		t.Error("a line break in a value must be refused")
	}
}

func TestParseLine(t *testing.T) {
	cases := []struct {
		in                                          string
		accepted, closed, handshake, connect, bound bool
		harmless                                    bool
	}{
		{in: "2026.11.21 06:24:54 LOG5[1]: Service [rsync] accepted connection from ::ffff:127.0.0.1:45118", accepted: true},
		{in: "2026.11.21 06:24:54 LOG3[1]: SSL_accept: ../ssl/statem/extensions.c:1578: error:0A0000FD:SSL routines::binder does not verify", handshake: true},
		{in: "2026.11.21 06:24:54 LOG3[0]: SSL_connect: ../ssl/record/rec_layer_s3.c:1601: error:0A000417:SSL routines::sslv3 alert illegal parameter", handshake: true},
		{in: "2026.11.21 06:24:54 LOG5[1]: Connection reset/closed: 0 byte(s) sent to TLS, 0 byte(s) sent to socket", closed: true},
		{in: "2026.11.21 06:24:54 LOG5[0]: Connection closed: 322 byte(s) sent to TLS, 146 byte(s) sent to socket", closed: true},
		{in: "2026.11.21 06:24:55 LOG3[0]: s_connect: connect 127.0.0.1:1: Connection refused (111)", connect: true},
		{in: "2026.11.21 06:24:55 LOG3[0]: Error resolving \"nonexistent.invalid\": Neither nodename nor servname known (EAI_NONAME)", connect: true},
		{in: "2026.11.21 06:28:00 LOG6[ui]: Service [rsync] (FD=8) bound to :::18000", bound: true},
		{in: "2026.11.21 06:28:00 LOG3[ui]: No trusted certificates found", harmless: true},
		{in: "2026.11.21 06:28:00 LOG3[2]: transfer: s_poll_wait: TIMEOUTclose exceeded: closing", harmless: true},
	}
	for _, tc := range cases {
		l, ok := ParseLine(tc.in)
		if !ok {
			t.Fatalf("not parsed: %s", tc.in)
		}
		_, acc := l.Accepted()
		got := [6]bool{acc, l.Closed(), l.HandshakeFailed(), l.ConnectFailed(), l.Bound(), l.Harmless()}
		want := [6]bool{tc.accepted, tc.closed, tc.handshake, tc.connect, tc.bound, tc.harmless}
		if got != want {
			t.Errorf("%s: got %v, want %v", tc.in, got, want)
		}
	}
	if l, ok := ParseLine("[!] Configuration failed"); !ok || !l.IsError() || l.Thread != "ui" {
		t.Errorf("early error: %+v %v", l, ok)
	}
	if _, ok := ParseLine("2026/11/21 06:23:58 [15478] rsync: something"); ok {
		t.Error("an rsync daemon line is not a stunnel line")
	}
}
