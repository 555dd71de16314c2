package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/images/internal/proc"
)

// CommandMode is the hidden first argument that makes the binary sshd's forced command:
// "volsync-rsync ssh-command STATEDIR". It is not a mode for users.
const CommandMode = "ssh-command"

// commandConfig is what the destination tells its forced command (STATEDIR/command.json):
// sshd gives a session a fresh environment, so nothing else reaches it.
type commandConfig struct {
	DataDir     string `json:"dataDir"`
	Rsync       string `json:"rsync"`
	ConfineRoot bool   `json:"confineRoot"`
	Socket      string `json:"socket"`
}

const commandConfigFile = "command.json"

var shutdownCommand = regexp.MustCompile(`^` + rsyncc.ShutdownCommand + ` +([0-9]{1,3})$`)

// receivedLine and sentLine are lines of the rsync server's --log-file.
var (
	receivedLine = regexp.MustCompile(`\] sent [0-9,.]+ bytes +received ([0-9,.]+) bytes`)
	fileReceived = regexp.MustCompile(`\] >f`)
)

// runCommand is the forced command: it runs what the ssh client asked for
// (SSH_ORIGINAL_COMMAND) if it is allowed. Its stdout is the ssh channel (rsync's protocol), so
// it writes only to stderr, which the client shows.
func runCommand(stateDir string, stderr io.Writer) int {
	refuse := func(cfg commandConfig, command, reason string) int {
		if cfg.Socket != "" {
			_ = sendControl(cfg.Socket, msgRefused, fmt.Sprintf("%q: %s", command, reason))
		}
		_, _ = fmt.Fprintf(stderr, "%srefused %q: %s\n", rsyncc.MessagePrefix, command, reason)
		return 1
	}
	var cfg commandConfig
	data, err := os.ReadFile(filepath.Join(stateDir, commandConfigFile))
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	command := os.Getenv("SSH_ORIGINAL_COMMAND")
	if err != nil {
		return refuse(cfg, command, "the destination is not set up: "+err.Error())
	}
	if m := shutdownCommand.FindStringSubmatch(command); m != nil {
		code, _ := strconv.Atoi(m[1])
		if code > 255 {
			return refuse(cfg, command, "the exit code must be 0 to 255")
		}
		if err := sendControl(cfg.Socket, msgShutdown, m[1]); err != nil {
			_, _ = fmt.Fprintf(stderr, "%sshutdown failed: %v\n", rsyncc.MessagePrefix, err)
			return 1
		}
		_, _ = fmt.Fprintf(stderr, "%sexiting with code %d\n", rsyncc.MessagePrefix, code)
		return 0
	}
	if !strings.HasPrefix(command, "rsync ") {
		return refuse(cfg, command, "only \"rsync --server\" receiving into the volume and \""+rsyncc.ShutdownCommand+" <code>\" are allowed")
	}
	srv, err := parseRsyncServer(command, cfg.DataDir)
	if err != nil {
		return refuse(cfg, command, strings.TrimPrefix(err.Error(), errRefused.Error()+": "))
	}
	return receive(cfg, stateDir, srv, stderr)
}

// receive runs the rsync server in the volume and reports what it received.
func receive(cfg commandConfig, stateDir string, srv rsyncServer, stderr io.Writer) int {
	peer, _, _ := strings.Cut(os.Getenv("SSH_CONNECTION"), " ")
	if err := sendControl(cfg.Socket, msgStart, peer); err != nil {
		_, _ = fmt.Fprintf(stderr, "%s%v\n", rsyncc.MessagePrefix, err)
		return 1
	}
	_, _ = fmt.Fprintln(stderr, rsyncc.Greeting)
	// The server's own log gives the destination its numbers: the bytes it received and one
	// ">f" line per file whose data it received.
	logFile := filepath.Join(stateDir, "rsync-"+strconv.Itoa(os.Getpid())+".log")
	args := append([]string{"--server"}, srv.Opts...)
	args = append(args, "--log-file="+logFile, "--log-file-format=%i")
	if cfg.ConfineRoot {
		args = append(args, "--confine-root="+cfg.DataDir)
	}
	args = append(append(args, "--", "."), srv.Paths...)
	cmd := exec.Command(cfg.Rsync, args...)
	cmd.Dir = cfg.DataDir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	rc := proc.ExitCode(cmd.Run())
	bytes, files := readServerLog(logFile)
	_ = os.Remove(logFile)
	_ = sendControl(cfg.Socket, msgDone, fmt.Sprintf("%d %d %d", rc, bytes, files))
	return rc
}

// readServerLog returns the bytes and files an rsync server received, from its --log-file.
func readServerLog(path string) (bytes, files int64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fileReceived.MatchString(line) {
			files++
		} else if m := receivedLine.FindStringSubmatch(line); m != nil {
			bytes, _ = strconv.ParseInt(strings.NewReplacer(",", "", ".", "").Replace(m[1]), 10, 64)
		}
	}
	return bytes, files
}
