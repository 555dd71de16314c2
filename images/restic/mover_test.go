package main

// Tests of the entrypoint binary with the real restic against a local-path repository and a
// real S3 server (versitygw, images/internal/s3test) on loopback. Directories stand in for the
// volumes. The tools come from images/hack/gotools.sh
// (export PATH="$(images/hack/gotools.sh restic versitygw):$PATH"); with CI=true a missing
// tool fails the tests instead of skipping them.

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volsync-go/volsync/images/contract/mover"
	"github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/images/contract/result"
	"github.com/volsync-go/volsync/images/internal/movertest"
	"github.com/volsync-go/volsync/images/internal/s3test"
	"github.com/volsync-go/volsync/images/internal/treetest"
)

const (
	nobody      = movertest.Nobody
	exitTimeout = movertest.ExitTimeout
	password    = "correct-horse-battery-staple"
)

var (
	moverBin   string
	missing    string
	scratchDir string
	// toolsBin holds restic for movers of any uid (the build cache is private to root).
	toolsBin string
	must     = treetest.Must
)

func TestMain(m *testing.M) {
	movertest.MainWithTools(m, movertest.Setup{Bin: "volsync-restic", Scratch: &scratchDir, Mover: &moverBin},
		movertest.Tools{Need: []string{"restic", s3test.Tool}, Link: []string{"restic"}, Missing: &missing, Bin: &toolsBin})
}

// env is one mover's world: its directories (data, cache), its identity and its repository.
type env struct {
	*movertest.Env
	cache string
	repo  string
	// vars are the repository Secret's variables besides RESTIC_REPOSITORY/RESTIC_PASSWORD.
	vars []string
	// out is the output of the last successful run (ok).
	out string
}

// newEnv makes a mover's directories owned by uid, for repository repo.
func newEnv(t *testing.T, name string, uid int, repo string, vars ...string) *env {
	t.Helper()
	movertest.RequireTools(t, missing)
	e := &env{Env: movertest.NewEnv(t, scratchDir, name, uid), repo: repo, vars: vars}
	e.cache = filepath.Join(e.Dir, "cache")
	must(os.Mkdir(e.cache, 0o755))
	must(os.Chown(e.cache, uid, uid))
	return e
}

// localRepo is the path of a local repository that uid may create.
func localRepo(t *testing.T, uid int) string {
	t.Helper()
	dir, err := os.MkdirTemp(scratchDir, "repo-")
	must(err)
	must(os.Chown(dir, uid, uid))
	return filepath.Join(dir, "repo")
}

// start starts the mover with the controller's variables and extra ones (later ones win).
func (e *env) start(actions []string, extra ...string) *movertest.Process {
	e.T.Helper()
	vars := append(e.BaseEnv(),
		"PATH="+toolsBin+":"+os.Getenv("PATH"),
		restic.EnvRepository+"="+e.repo,
		restic.EnvPassword+"="+password,
		restic.EnvCacheDir+"="+e.cache,
		restic.EnvForgetOptions+"=--keep-last 1",
		restic.EnvSelectPrevious+"=0",
		mover.EnvRetryDelay+"=1s",
		mover.EnvPrivileged+"="+strconv.Itoa(map[bool]int{true: 1}[e.UID == 0]),
	)
	vars = append(append(vars, e.vars...), extra...)
	return e.Start(vars, append([]string{moverBin}, actions...)...)
}

// run runs the mover to its end.
func (e *env) run(actions []string, extra ...string) (*movertest.Process, int) {
	e.T.Helper()
	p := e.start(actions, extra...)
	return p, p.Wait(e.T, 2*exitTimeout)
}

// ok runs the mover and checks it succeeded: exit 0, nothing on stderr, a successful result
// with a duration, its summary ending with "Restic completed in".
func (e *env) ok(actions []string, extra ...string) (*movertest.Process, result.Result) {
	e.T.Helper()
	p, rc := e.run(actions, extra...)
	if rc != 0 || p.ErrOut() != "" {
		e.T.Fatalf("%v: exit %d, stderr %q\n%s", actions, rc, p.ErrOut(), p.Out())
	}
	r := e.Result()
	if !r.Succeeded() || r.Error != "" || r.DurationSeconds <= 0 {
		e.T.Fatalf("result %+v", r)
	}
	if !strings.Contains(p.Out(), "Restic completed in ") || !strings.Contains(r.Summary, "Restic completed in ") {
		e.T.Fatalf("no \"Restic completed in\": %q", r.Summary)
	}
	e.out = p.Out()
	return p, r
}

// backup runs a successful backup and checks its facts.
func (e *env) backup(extra ...string) result.Result {
	e.T.Helper()
	p, r := e.ok([]string{restic.ActionBackup}, extra...)
	id := r.Details[restic.DetailSnapshotID]
	if len(id) != 8 || r.Details[restic.DetailFilesNew] == "" || r.Details[restic.DetailBytesAdded] == "" {
		e.T.Fatalf("details %+v", r.Details)
	}
	for _, want := range []string{"processed ", " files", "snapshot " + id + " saved", "Added to the repository:", "Files: "} {
		if !strings.Contains(p.Out(), want) || !strings.Contains(r.Summary, want) {
			e.T.Fatalf("no %q in the output or the summary:\n%s", want, r.Summary)
		}
	}
	return r
}

// restore runs a successful restore and returns the restored snapshot ("" for none).
func (e *env) restore(extra ...string) string {
	e.T.Helper()
	p, r := e.ok([]string{restic.ActionRestore}, extra...)
	id, ok := r.Details[restic.DetailRestored]
	if !ok {
		e.T.Fatalf("no %s detail: %+v", restic.DetailRestored, r.Details)
	}
	if id == "" {
		for _, want := range []string{"No eligible snapshots found", "No data will be restored"} {
			if !strings.Contains(p.Out(), want) {
				e.T.Fatalf("no %q:\n%s", want, p.Out())
			}
		}
	} else if !strings.Contains(p.Out(), "restoring snapshot "+id) {
		e.T.Fatalf("no \"restoring\":\n%s", p.Out())
	}
	return id
}

// snapshot is what the tests read of `restic snapshots`.
type snapshot struct {
	ShortID string    `json:"short_id"`
	Time    time.Time `json:"time"`
}

// snapshots lists the repository's snapshots with restic itself (as root), oldest first.
func (e *env) snapshots() []snapshot {
	e.T.Helper()
	cmd := exec.Command("restic", "--json", "--no-lock", "--no-cache", "snapshots")
	cmd.Env = append(os.Environ(), restic.EnvRepository+"="+e.repo, restic.EnvPassword+"="+password)
	cmd.Env = append(cmd.Env, e.vars...)
	out, err := cmd.Output()
	if err != nil {
		e.T.Fatalf("restic snapshots: %v", err)
	}
	var s []snapshot
	must(json.Unmarshal(out, &s))
	return s
}

// sourceTree builds the test tree for an unprivileged mover: its own files, no ACL (the
// reference restores the user.* extended attributes only).
func sourceTree(t *testing.T, root string, uid int) {
	treetest.Build(t, root, false)
	must(syscall.Removexattr(filepath.Join(root, "private"), "system.posix_acl_access"))
	must(os.MkdirAll(filepath.Join(root, "lost+found/never"), 0o700))
	treetest.Chown(t, root, uid)
	treetest.SetTimes(t, root)
}

// compare checks a restore: the destination's lost+found is its own, the rest is the source.
func compare(t *testing.T, src, dst string, o treetest.Opts) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dst, "lost+found/never")); err == nil {
		t.Fatal("the source's lost+found was backed up and restored")
	}
	for _, d := range []string{src, dst} {
		must(os.RemoveAll(filepath.Join(d, "lost+found")))
	}
	o.Dense = true // restic restores sparse files filled unless --sparse
	treetest.Compare(t, src, dst, o)
}

// TestBackupRestore: a backup and a restore of the latest snapshot carry the tree (unprivileged
// movers) and log their progress (a short MOVER_PROGRESS_INTERVAL); a second backup of a
// changed tree adds only the changes; a restore with --delete removes what the snapshot does
// not hold, one without keeps it.
func TestBackupRestore(t *testing.T) {
	repo := localRepo(t, nobody)
	src, dst := newEnv(t, "src", nobody, repo), newEnv(t, "dst", nobody, repo)
	sourceTree(t, src.Data, nobody)
	f, err := os.Create(filepath.Join(src.Data, "big"))
	must(err)
	_, err = io.CopyN(f, randReader{}, 16<<20) // long enough for a few progress lines
	must(err)
	must(f.Close())
	must(os.Chown(f.Name(), nobody, nobody))
	fast := EnvProgressInterval + "=20ms"
	r := src.backup(fast)
	if r.FilesTransferred < 10 || r.BytesSent <= 0 {
		t.Fatalf("first backup: %+v", r)
	}
	checkProgress(t, "backup", src.out)
	must(os.MkdirAll(filepath.Join(dst.Data, "lost+found/kept"), 0o700))
	if id := dst.restore(fast); id != r.Details[restic.DetailSnapshotID] {
		t.Fatalf("restored %q, want %q", id, r.Details[restic.DetailSnapshotID])
	}
	checkProgress(t, "restore", dst.out)
	if _, err := os.Stat(filepath.Join(dst.Data, "lost+found/kept")); err != nil {
		t.Fatalf("the destination's lost+found: %v", err)
	}
	compare(t, src.Data, dst.Data, treetest.Opts{OwnerUID: nobody, SkipRoot: true})

	treetest.Change(t, src.Data)
	r = src.backup()
	// restic counts a file whose metadata changed as changed too.
	if unmodified := detailInt(r, restic.DetailFilesUnmodified); r.FilesTransferred < treetest.ChangedFiles || unmodified < 5 {
		t.Fatalf("second backup: %d files new or changed, %d unmodified; want at least %d and 5", r.FilesTransferred, unmodified, treetest.ChangedFiles)
	}
	if n := len(src.snapshots()); n != 1 {
		t.Fatalf("%d snapshots after --keep-last 1, want 1", n)
	}
	extra := filepath.Join(dst.Data, "extra.txt")
	must(os.WriteFile(extra, []byte("not in the snapshot"), 0o644))
	dst.restore()
	if _, err := os.Stat(extra); err != nil {
		t.Fatalf("a restore without enableFileDeletion removed a file: %v", err)
	}
	p, _ := dst.ok([]string{restic.ActionRestore}, restic.EnvRestoreOptions+"="+restic.RestoreDelete)
	if !strings.Contains(p.Out(), "RESTORE_OPTIONS: --delete") {
		t.Fatalf("no RESTORE_OPTIONS line:\n%s", p.Out())
	}
	if _, err := os.Stat(extra); !os.IsNotExist(err) {
		t.Fatalf("--delete kept a file not in the snapshot: %v", err)
	}
	compare(t, src.Data, dst.Data, treetest.Opts{OwnerUID: nobody, SkipRoot: true})
}

// TestPrivilegedRestore: a privileged mover (root) backs up and restores owners.
func TestPrivilegedRestore(t *testing.T) {
	movertest.RequireRoot(t, "owners")
	repo := localRepo(t, 0)
	src, dst := newEnv(t, "src", 0, repo), newEnv(t, "dst", 0, repo)
	treetest.Build(t, src.Data, true)
	must(syscall.Removexattr(filepath.Join(src.Data, "private"), "system.posix_acl_access"))
	treetest.SetTimes(t, src.Data)
	src.backup()
	dst.restore()
	compare(t, src.Data, dst.Data, treetest.Opts{Owners: true, SkipRoot: true})
}

// TestRetentionSelectionPrune: the retention policy keeps what it says; previous and
// restoreAsOf select among the snapshots; prune reports it ran.
func TestRetentionSelectionPrune(t *testing.T) {
	repo := localRepo(t, nobody)
	src, dst := newEnv(t, "src", nobody, repo), newEnv(t, "dst", nobody, repo)
	file := filepath.Join(src.Data, "version")
	var ids []string
	for i := 1; i <= 3; i++ {
		must(os.WriteFile(file, []byte(strconv.Itoa(i)), 0o644))
		must(os.Chown(file, nobody, nobody))
		ids = append(ids, src.backup(restic.EnvForgetOptions + "=--keep-last 2").Details[restic.DetailSnapshotID])
		if i < 3 {
			// restoreAsOf has whole seconds: the next snapshot is taken in a later second.
			last := src.snapshots()
			next := last[len(last)-1].Time.Truncate(time.Second).Add(time.Second)
			for time.Now().Before(next.Add(50 * time.Millisecond)) {
				time.Sleep(20 * time.Millisecond) // waiting for the clock, not for a process
			}
		}
	}
	snaps := src.snapshots()
	if len(snaps) != 2 || snaps[0].ShortID != ids[1] || snaps[1].ShortID != ids[2] {
		t.Fatalf("snapshots %+v after --keep-last 2, want %v", snaps, ids[1:])
	}
	content := func() string {
		b, err := os.ReadFile(filepath.Join(dst.Data, "version"))
		must(err)
		return string(b)
	}
	asOf := func(tm time.Time) string { return restic.EnvRestoreAsOf + "=" + tm.UTC().Format(time.RFC3339) }
	between := snaps[0].Time.Truncate(time.Second).Add(time.Second)
	for _, c := range []struct {
		name string
		vars []string
		want string // the snapshot, "" for none
		data string
	}{
		{"latest", nil, ids[2], "3"},
		{"previous 1", []string{restic.EnvSelectPrevious + "=1"}, ids[1], "2"},
		{"previous 2", []string{restic.EnvSelectPrevious + "=2"}, "", ""},
		{"as of before", []string{asOf(snaps[0].Time.Add(-time.Hour))}, "", ""},
		{"as of between", []string{asOf(between)}, ids[1], "2"},
		{"as of after", []string{asOf(time.Now().Add(time.Hour))}, ids[2], "3"},
		{"as of after, previous 1", []string{asOf(time.Now().Add(time.Hour)), restic.EnvSelectPrevious + "=1"}, ids[1], "2"},
	} {
		must(os.WriteFile(filepath.Join(dst.Data, "version"), []byte("untouched"), 0o644))
		must(os.Chown(filepath.Join(dst.Data, "version"), nobody, nobody))
		if got := dst.restore(c.vars...); got != c.want {
			t.Fatalf("%s: restored %q, want %q", c.name, got, c.want)
		}
		if c.data != "" && content() != c.data {
			t.Fatalf("%s: version %q, want %q", c.name, content(), c.data)
		}
	}
	_, r := src.ok([]string{restic.ActionPrune})
	if r.Details[restic.DetailPruned] != "true" {
		t.Fatalf("prune: %+v", r.Details)
	}
}

// TestEmptySource: an empty source volume (lost+found only) takes no snapshot, and the
// following actions still run.
func TestEmptySource(t *testing.T) {
	repo := localRepo(t, nobody)
	src := newEnv(t, "src", nobody, repo)
	must(os.WriteFile(filepath.Join(src.Data, "f"), []byte("x"), 0o644))
	first := src.backup()
	must(os.Remove(filepath.Join(src.Data, "f")))
	must(os.Mkdir(filepath.Join(src.Data, "lost+found"), 0o700))
	p, r := src.ok([]string{restic.ActionBackup, restic.ActionPrune})
	if !strings.Contains(p.Out(), "source volume is empty: no snapshot taken") || r.Details[restic.DetailSnapshotID] != "" {
		t.Fatalf("empty source: %+v\n%s", r, p.Out())
	}
	if r.Details[restic.DetailPruned] != "true" {
		t.Fatalf("prune did not run after the empty backup: %+v", r.Details)
	}
	if s := src.snapshots(); len(s) != 1 || s[0].ShortID != first.Details[restic.DetailSnapshotID] {
		t.Fatalf("snapshots %+v", s)
	}
}

// TestRestoreNoRepository: a restore from a repository that does not exist, locally or in
// S3, restores nothing, succeeds and does not create it; nor does unlock.
func TestRestoreNoRepository(t *testing.T) {
	repo := localRepo(t, nobody)
	dst := newEnv(t, "dst", nobody, repo)
	if id := dst.restore(); id != "" {
		t.Fatalf("restored %q", id)
	}
	if _, r := dst.ok([]string{restic.ActionUnlock}); r.Details[restic.DetailUnlocked] != "true" {
		t.Fatalf("unlock: %+v", r.Details)
	}
	if _, err := os.Stat(repo); !os.IsNotExist(err) {
		t.Fatalf("the repository was created: %v", err)
	}

	s3 := s3test.Start(t, s3test.Options{})
	s3.CreateBucket(t, "volsync")
	dst = newEnv(t, "dst-s3", nobody, "s3:"+s3.Endpoint+"/volsync/pvc", s3Vars(s3)...)
	if id := dst.restore(); id != "" {
		t.Fatalf("restored %q", id)
	}
	if entries, err := os.ReadDir(filepath.Join(s3.Root, "volsync")); err != nil || len(entries) != 0 {
		t.Fatalf("the bucket holds %v (%v)", entries, err)
	}
}

// s3Vars are the repository Secret's credentials for s3.
func s3Vars(s3 *s3test.Server) []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey, "AWS_DEFAULT_REGION=" + s3test.Region}
}

func detailInt(r result.Result, key string) int64 {
	n, _ := strconv.ParseInt(r.Details[key], 10, 64)
	return n
}

// checkProgress checks a backup's or a restore's log: when restic started and its progress.
func checkProgress(t *testing.T, action, out string) {
	t.Helper()
	if !regexp.MustCompile(action + `: started \(restic pid \d+\)`).MatchString(out) {
		t.Errorf("no %q start line:\n%s", action, out)
	}
	if !regexp.MustCompile(action + `: \d+% \(\d+/\d+ files, [0-9.]+ \w+/[0-9.]+ \w+`).MatchString(out) {
		t.Errorf("no %q progress line:\n%s", action, out)
	}
}
