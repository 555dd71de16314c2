package rclone

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"

	rclonecontract "github.com/volsync-go/volsync/images/contract/rclone"
	"github.com/volsync-go/volsync/pkg/common/secrets"
)

// checkConfig is the check of the rcloneConfig Secret: it has the key rclone.conf, and the
// remote named by section is defined, in rclone.conf or by RCLONE_CONFIG_<SECTION>_TYPE (a
// remote defined in the environment), or is an on-the-fly remote (":s3,...:"). Messages name
// sections, never values.
func checkConfig(section string) secrets.Check {
	return func(data map[string][]byte) error {
		conf, ok := data[rclonecontract.ConfigKey]
		if !ok {
			return fmt.Errorf("missing key %s (the rclone configuration file)", rclonecontract.ConfigKey)
		}
		if strings.HasPrefix(section, ":") {
			return nil
		}
		if _, ok := data[envRemoteKey(section)]; ok {
			return nil
		}
		names := sections(conf)
		if slices.Contains(names, section) {
			return nil
		}
		has := "no sections"
		if len(names) > 0 {
			has = "sections [" + strings.Join(names, "], [") + "]"
		}
		return fmt.Errorf("%s has no section [%s] (rcloneConfigSection); it has %s", rclonecontract.ConfigKey, section, has)
	}
}

// sections lists the section names of an rclone.conf (INI: "[name]" lines).
func sections(conf []byte) []string {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(conf))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if len(line) > 2 && line[0] == '[' && line[len(line)-1] == ']' {
			names = append(names, strings.TrimSpace(line[1:len(line)-1]))
		}
	}
	return names
}

// envRemoteKey is the environment variable that defines a remote's type without rclone.conf.
func envRemoteKey(section string) string {
	return rclonecontract.SecretEnvPrefix + "CONFIG_" + strings.ToUpper(strings.ReplaceAll(section, "-", "_")) + "_TYPE"
}
