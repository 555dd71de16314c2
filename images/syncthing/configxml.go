package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/volsync-go/volsync/images/contract/syncthing"
)

// ConfigVersion is the config.xml version syncthing v1.30.0 writes (lib/config.CurrentVersion):
// a config of an older version is migrated, archived as config.xml.v<N> and rewritten at
// start; one of a newer version is refused.
const ConfigVersion = 37

// ConfigFile is syncthing's configuration file in its home.
const ConfigFile = "config.xml"

// configTemplate is the first start's config.xml, the reference's template
// (mover-syncthing/config-template.xml) in the current version: the one shared folder (no
// device yet: syncthing adds its own device to the folder and the device list when it loads
// the file; the controller adds the peers), the API over HTTPS, no discovery, relays, NAT,
// usage or crash reporting and no upgrades. What it omits gets syncthing's defaults.
var configTemplate = template.Must(template.New(ConfigFile).Funcs(template.FuncMap{"xml": xmlText}).Parse(
	`<configuration version="{{.Version}}">
    <folder id="{{xml .FolderID}}" label="{{xml .FolderLabel}}" path="{{xml .DataDir}}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="10" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <minDiskFree unit="%">1</minDiskFree>
        <versioning>
            <cleanupIntervalS>3600</cleanupIntervalS>
            <fsPath></fsPath>
            <fsType>basic</fsType>
        </versioning>
        <copiers>0</copiers>
        <pullerMaxPendingKiB>0</pullerMaxPendingKiB>
        <hashers>0</hashers>
        <order>random</order>
        <ignoreDelete>false</ignoreDelete>
        <scanProgressIntervalS>0</scanProgressIntervalS>
        <pullerPauseS>0</pullerPauseS>
        <maxConflicts>10</maxConflicts>
        <disableSparseFiles>false</disableSparseFiles>
        <disableTempIndexes>false</disableTempIndexes>
        <paused>false</paused>
        <weakHashThresholdPct>25</weakHashThresholdPct>
        <markerName>.stfolder</markerName>
        <copyOwnershipFromParent>false</copyOwnershipFromParent>
        <modTimeWindowS>0</modTimeWindowS>
        <maxConcurrentWrites>2</maxConcurrentWrites>
        <disableFsync>false</disableFsync>
        <blockPullOrder>standard</blockPullOrder>
        <copyRangeMethod>standard</copyRangeMethod>
        <caseSensitiveFS>false</caseSensitiveFS>
        <junctionsAsDirs>false</junctionsAsDirs>
    </folder>
    <gui enabled="true" tls="true" debugging="false">
        <address>{{xml .APIAddress}}</address>
        <theme>default</theme>
    </gui>
    <ldap></ldap>
    <options>
        <listenAddress>{{xml .ListenAddress}}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <localAnnouncePort>21027</localAnnouncePort>
        <relaysEnabled>false</relaysEnabled>
        <startBrowser>false</startBrowser>
        <natEnabled>false</natEnabled>
        <urAccepted>-1</urAccepted>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <crashReportingEnabled>false</crashReportingEnabled>
        <announceLANAddresses>false</announceLANAddresses>
    </options>
</configuration>
`))

func xmlText(s string) (string, error) {
	var b strings.Builder
	err := xml.EscapeText(&b, []byte(s))
	return b.String(), err
}

// renderConfig is the first start's config.xml for c.
func renderConfig(c Config) ([]byte, error) {
	var b bytes.Buffer
	err := configTemplate.Execute(&b, struct {
		Version                            int
		FolderID, FolderLabel              string
		DataDir, APIAddress, ListenAddress string
	}{ConfigVersion, syncthing.FolderID, syncthing.FolderLabel, c.DataDir, c.APIAddress, c.ListenAddress})
	return b.Bytes(), err
}

// ensureConfig writes config.xml on the first start. Afterwards syncthing (and the controller,
// through the API) own it: the mover only makes its listen address follow the environment
// (tests use random ports; syncthing has no override for it). It reports what it did.
func ensureConfig(c Config) (string, error) {
	path := filepath.Join(c.ConfigDir, ConfigFile)
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		doc, err := renderConfig(c)
		if err != nil {
			return "", fmt.Errorf("rendering %s: %w", ConfigFile, err)
		}
		if err := writeFileAtomic(path, doc, 0o600); err != nil {
			return "", err
		}
		return "config.xml created", nil
	case errors.Is(err, os.ErrPermission):
		return "", fmt.Errorf("cannot read %s (permission denied; the mover runs as uid %d): it was written by another uid; run the mover as that uid (moverSecurityContext) or delete the configuration volume's files", path, os.Geteuid())
	case err != nil:
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	doc, err := setListenAddress(old, c.ListenAddress)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(doc, old) {
		return "config.xml kept", nil
	}
	if err := writeFileAtomic(path, doc, 0o600); err != nil {
		return "", err
	}
	return "config.xml kept, listen address set", nil
}

var (
	optionsStart    = regexp.MustCompile(`<options(?:\s[^>]*)?>`)
	optionsEmpty    = regexp.MustCompile(`<options\s*/>`)
	listenAddressRE = regexp.MustCompile(`(?s)([ \t]*)<listenAddress\s*(?:/>|>.*?</listenAddress\s*>)[ \t]*(\r?\n)?`)
	configEnd       = regexp.MustCompile(`</configuration\s*>`)
)

// setListenAddress makes addr the only listen address of a config.xml (the <listenAddress>
// elements of <options>), changing nothing else. The document must be well-formed before and
// after.
func setListenAddress(doc []byte, addr string) ([]byte, error) {
	if err := wellFormed(doc); err != nil {
		return nil, fmt.Errorf("not valid XML (%w): fix or delete it (the device ID is kept in cert.pem and key.pem; the controller configures the peers again)", err)
	}
	esc, err := xmlText(addr)
	if err != nil {
		return nil, err
	}
	elem := "<listenAddress>" + esc + "</listenAddress>"
	var out []byte
	switch loc := optionsStart.FindIndex(doc); {
	case loc != nil:
		bodyStart := loc[1]
		end := bytes.Index(doc[bodyStart:], []byte("</options"))
		if end < 0 {
			return nil, errors.New("no </options>")
		}
		body := doc[bodyStart : bodyStart+end]
		var nb []byte
		if m := listenAddressRE.FindAllSubmatchIndex(body, -1); len(m) == 0 {
			nb = append([]byte("\n        "+elem), body...)
		} else {
			first := m[0]
			nb = append(nb, body[:first[0]]...)
			nb = append(nb, body[first[2]:first[3]]...)
			nb = append(nb, elem...)
			if first[4] >= 0 {
				nb = append(nb, body[first[4]:first[5]]...)
			}
			prev := first[1]
			for _, o := range m[1:] {
				nb = append(nb, body[prev:o[0]]...)
				prev = o[1]
			}
			nb = append(nb, body[prev:]...)
		}
		out = append(append(append(out, doc[:bodyStart]...), nb...), doc[bodyStart+end:]...)
	case optionsEmpty.Match(doc):
		loc := optionsEmpty.FindIndex(doc)
		out = append(append(append(out, doc[:loc[0]]...), "<options>"+elem+"</options>"...), doc[loc[1]:]...)
	default:
		loc := configEnd.FindIndex(doc)
		if loc == nil {
			return nil, errors.New("no </configuration>")
		}
		out = append(append(append(out, doc[:loc[0]]...), "    <options>\n        "+elem+"\n    </options>\n"...), doc[loc[0]:]...)
	}
	if err := wellFormed(out); err != nil {
		return nil, fmt.Errorf("setting the listen address would break it: %w", err)
	}
	return out, nil
}

// wellFormed checks that doc is one well-formed XML document.
func wellFormed(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		if _, err := d.Token(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// writeFileAtomic replaces path with data: a temporary file in the same directory, synced,
// renamed over it (a crash leaves the old file or the new one, never half of one).
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
