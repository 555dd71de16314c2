package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// sshdConfig is the destination's sshd_config: public-key logins only, for the source key only,
// which may only run the forced command; no PAM (sshd runs as the mover's uid), no forwarding,
// no terminal. sshd reads no other configuration (-f).
func sshdConfig(port int, hostKey, authorizedKeys, pidFile string, debug bool) string {
	level := "INFO"
	if debug {
		level = "DEBUG1"
	}
	lines := []string{
		"Port " + strconv.Itoa(port),
		"HostKey " + hostKey,
		"PidFile " + pidFile,
		"AuthorizedKeysFile " + authorizedKeys,
		"AuthorizedKeysCommand none",
		"AuthorizedPrincipalsFile none",
		"AuthenticationMethods publickey",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"HostbasedAuthentication no",
		"UsePAM no",
		// Only a key with a forced command may log in as uid 0 (privileged movers).
		"PermitRootLogin forced-commands-only",
		"PermitUserEnvironment no",
		"PermitTTY no",
		"X11Forwarding no",
		"AllowTcpForwarding no",
		"AllowAgentForwarding no",
		"AllowStreamLocalForwarding no",
		"PermitTunnel no",
		"GatewayPorts no",
		// The files are in the mover's private directory under TMPDIR, which is usually /tmp:
		// a world-writable parent that StrictModes would refuse.
		"StrictModes no",
		"UseDNS no",
		"PrintMotd no",
		"PrintLastLog no",
		"LoginGraceTime 30",
		"ClientAliveInterval " + strconv.Itoa(int(ServerAliveInterval.Seconds())),
		"ClientAliveCountMax " + strconv.Itoa(ServerAliveCountMax),
		"LogLevel " + level,
	}
	return strings.Join(lines, "\n") + "\n"
}

// authorizedKeys lets each source key run only the forced command, without forwarding or a
// terminal (restrict).
func authorizedKeys(keys []publicKey, command string) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "command=\"%s\",restrict %s\n", command, k)
	}
	return b.String()
}

// forcedCommand is the forced command line (run by the login's shell).
func forcedCommand(bin, stateDir string) (string, error) {
	for _, p := range []string{bin, stateDir} {
		if strings.ContainsAny(p, "\"\\'\n\r") {
			return "", fmt.Errorf("path %q: quotes, backslashes and line breaks are not supported", p)
		}
	}
	return "'" + bin + "' " + CommandMode + " '" + stateDir + "'", nil
}

// findSSHD returns the absolute path of sshd (it re-executes itself and needs one).
func findSSHD() (string, error) {
	if p, err := exec.LookPath("sshd"); err == nil && strings.HasPrefix(p, "/") {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("sshd not found (Debian package openssh-server)")
}

// privsepDir is where sshd running as root confines its unprivileged process (compiled in).
const privsepDir = "/run/sshd"

// sshd's log lines (-e: on stderr) that the destination acts on.
var (
	sshdListening = regexp.MustCompile(`^Server listening on (\S+) port (\d+)`)
	sshdInvalid   = regexp.MustCompile(`^Invalid user (\S*) from (\S+) port \d+`)
	sshdAccepted  = regexp.MustCompile(`^Accepted publickey for (\S+) from (\S+) port \d+`)
	sshdFailedKey = regexp.MustCompile(`^Connection closed by authenticating user (\S+) (\S+) port \d+ \[preauth\]`)
	// With -e sshd prints its errors without a level: these are the start-up failures.
	sshdStartError = regexp.MustCompile(`(?i)failed|cannot|could not|no hostkeys|missing|bad |not allowed|permission|unsupported|error`)
	// sshdQuiet are routine lines of every connection.
	sshdQuiet = regexp.MustCompile(`^(Received disconnect from|Disconnected from|Connection closed by|Connection reset by) `)
)
