package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/images/internal/movertest"
)

// TestRefusedCommands: with the source key, a client may run nothing but an rsync server that
// receives into the volume, and shutdown. Each refusal is a clear message and a non-zero exit,
// and the destination keeps waiting.
func TestRefusedCommands(t *testing.T) {
	requireTools(t)
	dst := newEnv(t, "dst", unprivileged, "good")
	must(os.Symlink("/etc", filepath.Join(dst.Data, "escape")))
	port := movertest.FreePort(t)
	d := dst.startDestination(port)
	rsyncArgs := "rsync --server -logDtpre.iLsfxCIvu --numeric-ids "
	cases := map[string]struct{ command, want string }{
		"shell command":       {"cat /etc/passwd", "only \"rsync --server\""},
		"interactive shell":   {"", "only \"rsync --server\""},
		"sender":              {"rsync --server --sender -logDtpre.iLsfxCIvu . /etc/passwd", "--sender: this destination only receives"},
		"daemon":              {"rsync --server --daemon .", "--daemon is not accepted"},
		"log file":            {rsyncArgs + "--log-file=/tmp/x . .", "--log-file is not accepted"},
		"temp dir outside":    {rsyncArgs + "--temp-dir=../x . .", "leaves the volume"},
		"partial dir link":    {rsyncArgs + "--partial-dir=escape/x . .", "leaves the volume (through a symbolic link)"},
		"dotdot path":         {rsyncArgs + ". ../outside", "leaves the volume"},
		"path through link":   {rsyncArgs + ". escape/", "leaves the volume (through a symbolic link)"},
		"keep dirlinks":       {"rsync --server -logDtpreK.iLsfx . .", "option -logDtpreK.iLsfx is not accepted"},
		"rsync path":          {"/usr/bin/rsync --server . .", "only \"rsync --server\""},
		"shutdown not a code": {"shutdown now", "only \"rsync --server\""},
	}
	t.Run("cases", func(t *testing.T) {
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				out, rc := sshClient(t, "good", port, "root", tc.command)
				if rc == 0 || !strings.Contains(out, rsyncc.MessagePrefix+"refused") || !strings.Contains(out, tc.want) {
					t.Errorf("%q: exit %d, output %q; want a refusal naming %q", tc.command, rc, out, tc.want)
				}
			})
		}
	})
	if _, err := os.Stat(filepath.Join(dst.Data, "escape/passwd")); err != nil || !d.Running() {
		t.Fatalf("the destination stopped after refused commands (or the link was followed): %v", err)
	}
	d.WaitFor(t, "Refused a command of the source", readyTimeout)
	if entries, _ := os.ReadDir(dst.Data); len(entries) != 1 {
		t.Errorf("refused commands wrote into the volume: %v", entries)
	}
}
