package migration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/kube"
)

const (
	// probeTimeout bounds one attempt to read the destination's ssh banner.
	probeTimeout = 5 * time.Second
	// sshLogin is the login name; the destination accepts it whatever uid it runs as.
	sshLogin = "root"
	// shutdownCommand ends the destination's transfer: it makes the destination finish its
	// synchronization (the mover's contract, images/contract/rsync).
	shutdownCommand = "shutdown 0"
)

// The key Secret's entries the client uses.
const (
	keySource         = "source"
	keyDestinationPub = "destination.pub"
)

// RsyncOptions are the flags of migration rsync.
type RsyncOptions struct {
	// Source is the local directory (a trailing "/" copies its contents, as with rsync).
	Source string
	// Timeout bounds each wait for the destination.
	Timeout time.Duration
}

// Rsync copies a local directory into the migration's PVC: it makes the destination listen
// (a new manual trigger value when it is idle; a listener already waiting is used as it is),
// runs rsync over ssh to it, tells it the transfer is complete, and waits until the destination
// has recorded the synchronization. The destination then waits, without a listener, for the
// next Rsync. Only changes are sent: rsync compares with what the PVC holds.
func Rsync(ctx context.Context, e Env, name string, o RsyncOptions) error {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	fi, err := os.Stat(o.Source)
	if err != nil {
		return fmt.Errorf("--source: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--source %s is not a directory", o.Source)
	}
	for _, tool := range []string{"rsync", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed on this machine: %w", tool, err)
		}
	}
	_, d, c, key, err := e.open(name)
	if err != nil {
		return err
	}
	m := d.Destination
	rd := &v1alpha1.ReplicationDestination{}
	if err := c.Get(ctx, key, rd); apierrors.IsNotFound(err) {
		return fmt.Errorf("%w (%s): delete the migration and create it again", ErrGone, key)
	} else if err != nil {
		return fmt.Errorf("ReplicationDestination %s: %w", key, err)
	}
	before, err := listen(ctx, e, c, rd, o.Timeout)
	if err != nil {
		return err
	}
	ep, err := waitPublished(ctx, e, c, rd, o.Timeout)
	if err != nil {
		return err
	}
	keys := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: ep.Keys}, keys); err != nil {
		return fmt.Errorf("the destination's key Secret %s/%s: %w", m.Namespace, ep.Keys, err)
	}
	dir, err := os.MkdirTemp("", "kubectl-volsync-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	ssh, err := sshCommand(dir, ep, keys.Data)
	if err != nil {
		return err
	}
	hostPort := net.JoinHostPort(ep.Address, strconv.Itoa(int(ep.Port)))
	if err := e.poller().Wait(ctx, o.Timeout, "the destination to listen at "+hostPort, func(ctx context.Context) (bool, string, error) {
		if err := probe(ctx, hostPort); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	}); err != nil {
		return err
	}
	e.printf("migrating data from %q to %s/%s\n", o.Source, m.Namespace, m.PVCName)
	args := append(RsyncArgs(ssh), o.Source, sshLogin+"@"+bracket(ep.Address)+":.")
	cmd := exec.CommandContext(ctx, "rsync", args...)
	var stderr strings.Builder
	cmd.Stdout = e.Out
	cmd.Stderr = io.MultiWriter(orDiscard(e.Err), &stderr)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !OnlyTopDirAttrs(exit.ExitCode(), stderr.String()) {
			return fmt.Errorf("%w: rsync to %s: %w (the destination keeps listening: run migration rsync again)", ErrFailed, hostPort, err)
		}
		e.printf("note: the PVC's top directory keeps its own owner, permissions and times (an unprivileged mover may not change them); everything else was copied\n")
	}
	sshArgs := slices.Concat(strings.Fields(ssh)[1:], []string{sshLogin + "@" + ep.Address, shutdownCommand})
	if out, err := exec.CommandContext(ctx, "ssh", sshArgs...).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: telling the destination the transfer is complete: %w: %s", ErrFailed, err, strings.TrimSpace(string(out)))
	}
	return waitRecorded(ctx, e, c, rd, before, o.Timeout)
}

// RsyncArgs are the options of the local rsync (the reference's), with ssh as its remote
// shell: archive with ACLs, hard links and sparse files, one file system, compressed,
// deleting what the source no longer has, listing each change and the statistics.
func RsyncArgs(ssh string) []string {
	return []string{"-aAhHSxz", "-e", ssh, "--delete", "--itemize-changes", "--info=stats2,misc2"}
}

// sshCommand writes the identity and known-hosts files into dir and returns the ssh command
// (as rsync's -e takes it). The destination's host key is the only one accepted.
func sshCommand(dir string, ep endpoint, data map[string][]byte) (string, error) {
	for _, k := range []string{keySource, keyDestinationPub} {
		if len(data[k]) == 0 {
			return "", fmt.Errorf("the destination's key Secret %s has no %q", ep.Keys, k)
		}
	}
	id := filepath.Join(dir, keySource)
	if err := os.WriteFile(id, data[keySource], 0o600); err != nil {
		return "", err
	}
	host := bracketIfPort(ep.Address, ep.Port)
	var known strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(data[keyDestinationPub])), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			known.WriteString(host + " " + line + "\n")
		}
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(known.String()), 0o600); err != nil {
		return "", err
	}
	if strings.ContainsAny(dir, " \t'\"\\") {
		return "", fmt.Errorf("temporary directory %q has characters rsync's -e cannot pass", dir)
	}
	return fmt.Sprintf("ssh -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=30 -p %d",
		id, kh, ep.Port), nil
}

// bracket puts an IPv6 address in brackets for user@host:path.
func bracket(addr string) string {
	if strings.Contains(addr, ":") {
		return "[" + addr + "]"
	}
	return addr
}

// bracketIfPort is the known_hosts name of addr:port.
func bracketIfPort(addr string, port int32) string {
	if port == 22 {
		return addr
	}
	return "[" + addr + "]:" + strconv.Itoa(int(port))
}

// probe succeeds when an ssh server answers at hostPort with its banner: the destination's
// sshd is listening, not only its Service.
func probe(ctx context.Context, hostPort string) error {
	dialer := net.Dialer{Timeout: probeTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", hostPort)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(probeTimeout))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no ssh banner: %w", err)
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("not an ssh server: %q", strings.TrimSpace(line))
	}
	return nil
}

// listen makes the destination run a listener: when it is idle it gets a new manual trigger
// value; a destination created by the reference (no trigger) gets one too. It returns the
// destination's lastSyncTime before the transfer, to recognise its completion.
func listen(ctx context.Context, e Env, c client.Client, rd *v1alpha1.ReplicationDestination, timeout time.Duration) (*time.Time, error) {
	st := rd.Status
	running := st != nil && st.LastSyncStartTime != nil
	manual := ""
	if rd.Spec.Trigger != nil {
		manual = rd.Spec.Trigger.Manual
	}
	if !running || manual == "" {
		value := e.manualValue()
		patch := client.MergeFrom(rd.DeepCopy())
		if rd.Spec.Trigger == nil {
			rd.Spec.Trigger = &v1alpha1.ReplicationDestinationTriggerSpec{}
		}
		rd.Spec.Trigger.Manual = value
		if err := c.Patch(ctx, rd, patch); err != nil {
			return nil, fmt.Errorf("triggering ReplicationDestination %s/%s: %w", rd.Namespace, rd.Name, err)
		}
		if running {
			// A listener is up already (a destination without a trigger): use it.
			return lastSync(rd), nil
		}
		key := client.ObjectKeyFromObject(rd)
		var before *time.Time
		err := e.poller().Wait(ctx, timeout, "destination "+key.String()+" to start listening", func(ctx context.Context) (bool, string, error) {
			if err := c.Get(ctx, key, rd); err != nil {
				return false, "", err
			}
			if s := rd.Status; s != nil && s.LastSyncStartTime != nil && s.ManualSyncInProgress == value {
				before = lastSync(rd)
				return true, "", nil
			}
			var cs *v1alpha1.CommonStatus
			if rd.Status != nil {
				cs = &rd.Status.CommonStatus
			}
			return false, kube.Describe(cs), nil
		})
		return before, err
	}
	return lastSync(rd), nil
}

func lastSync(rd *v1alpha1.ReplicationDestination) *time.Time {
	if rd.Status == nil || rd.Status.LastSyncTime == nil {
		return nil
	}
	t := rd.Status.LastSyncTime.Time
	return &t
}

// waitRecorded waits until the destination has recorded the end of the synchronization
// (lastSyncTime changed), reporting its mover's result.
func waitRecorded(ctx context.Context, e Env, c client.Client, rd *v1alpha1.ReplicationDestination, before *time.Time, timeout time.Duration) error {
	key := client.ObjectKeyFromObject(rd)
	err := e.poller().Wait(ctx, timeout, "destination "+key.String()+" to record the transfer", func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, key, rd); err != nil {
			return false, "", err
		}
		st := rd.Status
		if st == nil {
			return false, "no status yet", nil
		}
		if now := lastSync(rd); now != nil && (before == nil || !now.Equal(*before)) {
			return true, "", nil
		}
		return false, kube.Describe(&st.CommonStatus), nil
	})
	if err != nil {
		return err
	}
	result := ""
	if ms := rd.Status.LatestMoverStatus; ms != nil {
		result = " (destination: " + string(ms.Result) + ")"
		if ms.Result == v1alpha1.MoverResultFailed {
			return fmt.Errorf("%w: the destination reports: %s", ErrFailed, ms.Logs)
		}
	}
	e.printf("migration transfer complete%s\n", result)
	return nil
}

// rsync's exit code for a partial transfer, and its messages about attributes it could not set.
const rsyncPartial = 23

var (
	attrFailure = regexp.MustCompile(`^rsync: \[[a-z]+\] failed to set (?:permissions|times) on "(?:[^"]*/)?\.": `)
	rsyncError  = regexp.MustCompile(`^rsync(?::| error:) `)
)

// OnlyTopDirAttrs reports whether a partial transfer (exit 23) failed only to set the
// attributes of the destination's top directory, the volume's root, which belongs to the
// volume (its provisioner and the kubelet set its owner and mode) and which an unprivileged
// destination may not change: everything else arrived, so it is a success.
func OnlyTopDirAttrs(code int, stderr string) bool {
	if code != rsyncPartial {
		return false
	}
	seen := false
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case attrFailure.MatchString(line):
			seen = true
		case strings.HasPrefix(line, "rsync error: some files/attrs were not transferred"):
		case rsyncError.MatchString(line):
			return false
		}
	}
	return seen
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
