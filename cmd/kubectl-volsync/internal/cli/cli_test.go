package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := New(Options{Version: "v1.2.3", Out: &out, Err: &out,
		Clients: func(string) (client.Client, error) { t.Fatal("no cluster access expected"); return nil, nil }})
	root.SetArgs(append([]string{"--config-dir", t.TempDir()}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestVersion(t *testing.T) {
	if out, err := run(t, "--version"); err != nil || out != "volsync version v1.2.3\n" {
		t.Errorf("--version: %q %v", out, err)
	}
}

func find(t *testing.T, path ...string) *cobra.Command {
	t.Helper()
	cmd, _, err := New(Options{}).Find(path)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestDefaults: the reference's flag defaults.
func TestDefaults(t *testing.T) {
	tests := []struct {
		cmd  []string
		flag string
		want string
	}{
		{[]string{"replication", "set-source"}, "copymethod", "Clone"},
		{[]string{"replication", "set-destination"}, "copymethod", "Snapshot"},
		{[]string{"replication", "set-destination"}, "servicetype", "ClusterIP"},
		{[]string{"replication", "sync"}, "timeout", (30 * time.Minute).String()},
		{[]string{"migration", "create"}, "servicetype", "LoadBalancer"},
		{[]string{"migration", "create"}, "accessmodes", "ReadWriteOnce"},
		{[]string{"migration", "create"}, "timeout", (10 * time.Minute).String()},
	}
	for _, tc := range tests {
		f := find(t, tc.cmd...).Flags().Lookup(tc.flag)
		if f == nil || f.DefValue != tc.want {
			t.Errorf("%v --%s: default %v, want %q", tc.cmd, tc.flag, f, tc.want)
		}
	}
	if f := find(t, "replication").PersistentFlags().ShorthandLookup("r"); f == nil || f.Name != "relationship" {
		t.Errorf("-r: %v", f)
	}
	if !strings.HasSuffix(DefaultConfigDir(), ".volsync") {
		t.Errorf("default config dir %q", DefaultConfigDir())
	}
}

// TestBadInput: flag errors are reported before any cluster is contacted.
func TestBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"replication", "create"}, `required flag(s) "relationship" not set`},
		{[]string{"replication", "-r", "x", "set-source"}, `required flag(s) "pvcname" not set`},
		{[]string{"replication", "-r", "x", "set-source", "--pvcname", "a/b/c/d"}, "[context/]namespace/name"},
		{[]string{"replication", "-r", "x", "set-source", "--pvcname", "a/b", "--copymethod", "copy"}, "Direct, None, Snapshot, Clone"},
		{[]string{"replication", "-r", "x", "set-source", "--pvcname", "a/b", "--accessmodes", "RWO"}, `invalid access mode "RWO"`},
		{[]string{"replication", "-r", "x", "set-destination", "--destination", "a/b", "--copymethod", "clone"}, "cannot use Clone"},
		{[]string{"replication", "-r", "x", "set-destination", "--destination", "a/b", "--capacity", "big"}, `invalid capacity "big"`},
		{[]string{"replication", "-r", "x", "schedule", "--cronspec", "@every 5m"}, "@every is not supported"},
		{[]string{"replication", "-r", "x", "sync", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"replication", "-r", "x", "sync"}, "relationship not found"},
		{[]string{"migration", "-r", "m", "create", "--pvcname", "ns/p", "--accessmodes", "ReadWriteMany,ReadOnlyMany"}, "invalid access mode"},
		{[]string{"migration", "-r", "m", "create", "--pvcname", "ns/p", "--servicetype", "NodePort"}, "ClusterIP or LoadBalancer"},
		{[]string{"migration", "-r", "m", "rsync"}, `required flag(s) "source" not set`},
		{[]string{"migration", "-r", "m", "delete"}, "relationship not found"},
	}
	for _, tc := range tests {
		if _, err := run(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}
