package main

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestSetListenAddress(t *testing.T) {
	const addr = "tcp://0.0.0.0:22000"
	for _, c := range []struct{ name, in, want string }{
		{"one", "<configuration version=\"37\">\n    <options>\n        <listenAddress>tcp://127.0.0.1:1</listenAddress>\n        <natEnabled>false</natEnabled>\n    </options>\n</configuration>\n",
			"<configuration version=\"37\">\n    <options>\n        <listenAddress>tcp://0.0.0.0:22000</listenAddress>\n        <natEnabled>false</natEnabled>\n    </options>\n</configuration>\n"},
		{"same", "<configuration>\n    <options>\n        <listenAddress>tcp://0.0.0.0:22000</listenAddress>\n    </options>\n</configuration>\n",
			"<configuration>\n    <options>\n        <listenAddress>tcp://0.0.0.0:22000</listenAddress>\n    </options>\n</configuration>\n"},
		{"several", "<configuration>\n    <options>\n        <listenAddress>default</listenAddress>\n        <x>1</x>\n        <listenAddress>quic://0.0.0.0:22000</listenAddress>\n        <listenAddress/>\n    </options>\n</configuration>\n",
			"<configuration>\n    <options>\n        <listenAddress>tcp://0.0.0.0:22000</listenAddress>\n        <x>1</x>\n    </options>\n</configuration>\n"},
		{"none", "<configuration>\n    <options>\n        <x>1</x>\n    </options>\n</configuration>\n",
			"<configuration>\n    <options>\n        <listenAddress>tcp://0.0.0.0:22000</listenAddress>\n        <x>1</x>\n    </options>\n</configuration>\n"},
		{"empty options", "<configuration>\n    <options/>\n</configuration>\n",
			"<configuration>\n    <options><listenAddress>tcp://0.0.0.0:22000</listenAddress></options>\n</configuration>\n"},
		{"no options", "<configuration>\n    <folder id=\"f\"></folder>\n</configuration>\n",
			"<configuration>\n    <folder id=\"f\"></folder>\n    <options>\n        <listenAddress>tcp://0.0.0.0:22000</listenAddress>\n    </options>\n</configuration>\n"},
		{"only in options", "<configuration>\n    <device><listenAddress>keep</listenAddress></device>\n    <options>\n        <listenAddress>x</listenAddress>\n    </options>\n</configuration>\n",
			"<configuration>\n    <device><listenAddress>keep</listenAddress></device>\n    <options>\n        <listenAddress>tcp://0.0.0.0:22000</listenAddress>\n    </options>\n</configuration>\n"},
	} {
		got, err := setListenAddress([]byte(c.in), addr)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
	got, err := setListenAddress([]byte("<configuration><options></options></configuration>"), "tcp://[::1]:1?a=1&b=<2>")
	if err != nil || !strings.Contains(string(got), "<listenAddress>tcp://[::1]:1?a=1&amp;b=&lt;2&gt;</listenAddress>") {
		t.Errorf("escaping: %s %v", got, err)
	}
	if _, err := setListenAddress([]byte("<configuration><options></configuration>"), addr); err == nil || !strings.Contains(err.Error(), "not valid XML") {
		t.Errorf("malformed: %v", err)
	}
}

func TestRenderConfig(t *testing.T) {
	doc, err := renderConfig(Config{DataDir: "/data/a&b", APIAddress: "0.0.0.0:8384", ListenAddress: "tcp://0.0.0.0:22000"})
	if err != nil {
		t.Fatal(err)
	}
	var c xmlConfig
	if err := xml.Unmarshal(doc, &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != ConfigVersion || len(c.Folders) != 1 || c.Folders[0].Path != "/data/a&b" || c.GUI.Address != "0.0.0.0:8384" || !c.GUI.TLS ||
		len(c.ListenAddresses) != 1 || c.ListenAddresses[0] != "tcp://0.0.0.0:22000" {
		t.Errorf("%+v\n%s", c, doc)
	}
	// The first start's listen address is already the environment's: nothing to change.
	if again, err := setListenAddress(doc, "tcp://0.0.0.0:22000"); err != nil || string(again) != string(doc) {
		t.Errorf("setListenAddress changed the template: %v\n%s", err, again)
	}
}
