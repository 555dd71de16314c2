package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/treetest"
)

// externalUID runs the plain sshd of TestSourceToExternalServer: a user of an ordinary server.
const externalUID = 4343

// simpleTree makes what a plain "rsync -a" carries: contents, modes, times, symlinks, an empty
// directory.
func simpleTree(t *testing.T, root string, uid int) {
	t.Helper()
	must(os.MkdirAll(filepath.Join(root, "dir/sub"), 0o755))
	must(os.Mkdir(filepath.Join(root, "empty"), 0o700))
	must(os.WriteFile(filepath.Join(root, "dir/sub/f.txt"), []byte("data"), 0o640))
	must(os.WriteFile(filepath.Join(root, "x.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Symlink("dir/sub/f.txt", filepath.Join(root, "link")))
	treetest.Chown(t, root, uid)
	treetest.SetTimes(t, root)
}

// TestSourceToExternalServer: a ReplicationSource pushing to an ordinary ssh server outside
// Kubernetes (its own sshd, user and authorized_keys, no VolSync): the data arrives where
// DESTINATION_PATH says, and no "shutdown 0" is sent to it.
func TestSourceToExternalServer(t *testing.T) {
	requireTools(t)
	lib, _ := findNSSWrapper()
	server := movertest.NewEnv(t, scratchDir, "external", externalUID)
	home := filepath.Join(server.Dir, "home")
	backup := filepath.Join(home, "backup")
	must(os.MkdirAll(backup, 0o755))
	pub, err := os.ReadFile(filepath.Join(keys["good"], rsyncc.SourcePub))
	must(err)
	hostKey, err := os.ReadFile(filepath.Join(keys["good"], rsyncc.Destination))
	must(err)
	port := movertest.FreePort(t)
	files := map[string]string{
		"authorized_keys": string(pub),
		"host_key":        string(hostKey),
		"passwd":          fmt.Sprintf("backup:x:%d:%d::%s:/bin/sh\n", externalUID, externalUID, home),
		"group":           fmt.Sprintf("backup:x:%d:\n", externalUID),
		"sshd_config": fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %s/host_key\nAuthorizedKeysFile %s/authorized_keys\nPidFile none\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n",
			port, server.Dir, server.Dir),
	}
	for name, text := range files {
		must(os.WriteFile(filepath.Join(server.Dir, name), []byte(text), 0o600))
	}
	treetest.Chown(t, server.Dir, externalUID)
	sshd, err := findSSHD()
	must(err)
	srv := server.Start([]string{"PATH=/usr/bin:/bin", "LD_PRELOAD=" + lib, "NSS_WRAPPER_PASSWD=" + filepath.Join(server.Dir, "passwd"),
		"NSS_WRAPPER_GROUP=" + filepath.Join(server.Dir, "group")}, sshd, "-D", "-e", "-f", filepath.Join(server.Dir, "sshd_config"))
	srv.WaitFor(t, "Server listening", readyTimeout)

	src := newEnv(t, "src", unprivileged, "good")
	simpleTree(t, src.Data, unprivileged)
	s, rc := src.runSource(port, rsyncc.EnvSSHUser+"=backup", rsyncc.EnvDestinationPath+"="+backup)
	if rc != 0 {
		t.Fatalf("source exit %d: %s", rc, s.ErrOut())
	}
	if !strings.Contains(s.Out(), "did not identify itself as a VolSync mover") || strings.Contains(s.Out(), "telling the destination to finish") {
		t.Errorf("shutdown sent to an ordinary ssh server:\n%s", s.Out())
	}
	treetest.Compare(t, src.Data, backup, treetest.Opts{OwnerUID: externalUID, SkipRoot: true})
	if !srv.Running() {
		t.Error("the external sshd stopped")
	}
}

// TestDestinationFromExternalClient: a ReplicationDestination receiving from a person's plain
// rsync and ssh (the migration of data into Kubernetes), ended by "ssh ... shutdown 0".
func TestDestinationFromExternalClient(t *testing.T) {
	requireTools(t)
	dst, port, d := listening(t)
	dir := t.TempDir()
	simpleTree(t, filepath.Join(dir, "data"), 0)
	id := filepath.Join(dir, "source")
	data, err := os.ReadFile(filepath.Join(keys["good"], rsyncc.Source))
	must(err)
	must(os.WriteFile(id, data, 0o600))
	pub, err := os.ReadFile(filepath.Join(keys["good"], rsyncc.DestinationPub))
	must(err)
	kh := filepath.Join(dir, "known_hosts")
	must(os.WriteFile(kh, []byte("[127.0.0.1]:"+strconv.Itoa(port)+" "+string(pub)), 0o600))
	rsh := fmt.Sprintf("ssh -F /dev/null -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -p %d", id, kh, port)
	out, err := exec.Command("rsync", "-a", "--delete", "-e", rsh, filepath.Join(dir, "data")+"/", "root@127.0.0.1:").CombinedOutput()
	if err != nil {
		t.Fatalf("plain rsync: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), rsyncc.Greeting) {
		t.Errorf("the client was not told it reached a VolSync destination: %q", out)
	}
	if !d.Running() {
		t.Fatal("the destination stopped before shutdown")
	}
	if out, rc := sshClient(t, "good", port, "root", rsyncc.ShutdownCommand, "0"); rc != 0 {
		t.Fatalf("shutdown 0: exit %d %s", rc, out)
	}
	if rc := d.Wait(t, exitTimeout); rc != 0 {
		t.Fatalf("destination exit %d: %s", rc, d.ErrOut())
	}
	if r := dst.Result(); !r.Succeeded() || r.FilesTransferred != 2 {
		t.Errorf("destination result %+v", r)
	}
	treetest.Compare(t, filepath.Join(dir, "data"), dst.Data, treetest.Opts{OwnerUID: unprivileged, SkipRoot: true})
}

// TestLoginNames: a source may log in with any name. One the destination was given
// (SSH_USER) works at once; another is learned on first use, and the source's second attempt
// gets in.
func TestLoginNames(t *testing.T) {
	requireTools(t)
	src, dst := newEnv(t, "src", unprivileged, "good"), newEnv(t, "dst", unprivileged, "good")
	simpleTree(t, src.Data, unprivileged)
	port := movertest.FreePort(t)
	d := dst.startDestination(port)
	s, rc := src.runSource(port, rsyncc.EnvSSHUser+"=backup")
	if rc != 0 || strings.Count(s.Out(), "retrying") != 1 {
		t.Fatalf("a login name the destination did not know: exit %d, want one retry:\n%s", rc, s.Out())
	}
	if rc := d.Wait(t, exitTimeout); rc != 0 || !strings.Contains(d.Out(), `logged in as "backup", a name this destination did not know`) {
		t.Fatalf("destination exit %d:\n%s", rc, d.Out())
	}
	if r := src.Result(); r.FilesTransferred != 2 {
		t.Errorf("result %+v", r)
	}

	port = movertest.FreePort(t)
	d = dst.startDestination(port, rsyncc.EnvSSHUser+"=given,other")
	s, rc = src.runSource(port, rsyncc.EnvSSHUser+"=given")
	if rc != 0 || strings.Contains(s.Out(), "retrying") {
		t.Fatalf("a login name the destination was given: exit %d, retried or failed:\n%s", rc, s.Out())
	}
	if rc := d.Wait(t, exitTimeout); rc != 0 {
		t.Fatalf("destination exit %d", rc)
	}
}
