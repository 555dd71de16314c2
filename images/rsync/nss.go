package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	rsyncc "github.com/volsync-go/volsync/images/contract/rsync"
)

// ssh needs a passwd entry for its own uid (the client) and for the login name (sshd), but a
// pod may run as any uid (runAsUser), and a source may log in with any name. nss_wrapper
// (LD_PRELOAD) answers those lookups from files this mover writes in its private directory.

const (
	// maxLoginName bounds a login name (sshd and Kubernetes names are shorter).
	maxLoginName = 64
	// maxLearnedNames bounds the names a destination learns from failed logins.
	maxLearnedNames = 64
	// shell runs sshd's forced command (sshd needs a valid shell for the login).
	shell = "/bin/sh"
	// privsepUser is the user sshd running as root drops to before authentication.
	privsepUser = "sshd"
	// fallbackName names the mover's uid when /etc/passwd does not.
	fallbackName = "volsync"
)

var loginName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// validLoginName accepts the portable user names (and no ':' or line break that would break a
// passwd file).
func validLoginName(s string) bool { return len(s) <= maxLoginName && loginName.MatchString(s) }

// nssWrapperLibs are where Debian and other distributions install libnss_wrapper.so.
var nssWrapperLibs = []string{
	"/usr/lib/*/libnss_wrapper.so", "/usr/lib64/libnss_wrapper.so", "/usr/lib/libnss_wrapper.so", "/lib/*/libnss_wrapper.so",
}

// findNSSWrapper returns the path of libnss_wrapper.so.
func findNSSWrapper() (string, error) {
	for _, pattern := range nssWrapperLibs {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0], nil
		}
	}
	return "", errors.New("libnss_wrapper.so not found (Debian package libnss-wrapper): ssh needs it to give this uid a login")
}

// identity is the mover's uid and gid with their names.
type identity struct {
	uid, gid           int
	userName, grpName  string
	inPasswd, inGroups bool
}

func currentIdentity() identity {
	id := identity{uid: os.Getuid(), gid: os.Getgid(), userName: fallbackName, grpName: fallbackName}
	if name, ok := lookupID("/etc/passwd", id.uid, 2); ok {
		id.userName, id.inPasswd = name, true
	}
	if name, ok := lookupID("/etc/group", id.gid, 2); ok {
		id.grpName, id.inGroups = name, true
	}
	return id
}

// lookupID returns the name of the line of a passwd or group file whose field idField is id.
func lookupID(file string, id, idField int) (string, bool) {
	f, err := os.Open(file)
	if err != nil {
		return "", false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > idField && fields[idField] == strconv.Itoa(id) {
			return fields[0], true
		}
	}
	return "", false
}

// nssFiles are the passwd and group files nss_wrapper reads.
type nssFiles struct {
	dir     string
	lib     string
	id      identity
	home    string
	names   []string
	learned int
}

func (n *nssFiles) passwdPath() string { return filepath.Join(n.dir, "passwd") }
func (n *nssFiles) groupPath() string  { return filepath.Join(n.dir, "group") }

// env is what a process needs to see the files.
func (n *nssFiles) env() []string {
	return []string{"LD_PRELOAD=" + n.lib, "NSS_WRAPPER_PASSWD=" + n.passwdPath(), "NSS_WRAPPER_GROUP=" + n.groupPath()}
}

// add makes name a login of the mover's uid; it reports whether the files changed.
func (n *nssFiles) add(name string) bool {
	if slices.Contains(n.names, name) {
		return false
	}
	n.names = append(n.names, name)
	return true
}

// write writes both files. They are replaced by rename: sshd starts a new process for each
// connection, which reads them anew.
func (n *nssFiles) write() error {
	var pw, gr strings.Builder
	for _, name := range n.names {
		fmt.Fprintf(&pw, "%s:x:%d:%d:%s:%s:%s\n", name, n.id.uid, n.id.gid, name, n.home, shell)
	}
	fmt.Fprintf(&gr, "%s:x:%d:\n", n.id.grpName, n.id.gid)
	if n.id.uid == 0 {
		// sshd as root drops to this user before authentication; the login names are root.
		fmt.Fprintf(&pw, "%s:x:65534:65534::/run/sshd:/usr/sbin/nologin\n", privsepUser)
		if n.id.gid != 65534 {
			gr.WriteString("nogroup:x:65534:\n")
		}
	}
	for path, text := range map[string]string{n.passwdPath(): pw.String(), n.groupPath(): gr.String()} {
		if err := writeFileAtomic(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// destinationNSS are the files of a destination: root (the reference's login), the mover's
// own name and the names it was given.
func destinationNSS(dir, lib string, extra []string) *nssFiles {
	n := &nssFiles{dir: dir, lib: lib, id: currentIdentity(), home: dir}
	n.add(rsyncc.DefaultUser)
	n.add(n.id.userName)
	for _, u := range extra {
		n.add(u)
	}
	return n
}

// writeFileAtomic writes path under a temporary name and renames it into place.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
