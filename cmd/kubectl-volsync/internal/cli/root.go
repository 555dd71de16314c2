package cli

import (
	goflag "flag"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/kube"
)

// Options configure the command tree.
type Options struct {
	// Version is printed by --version.
	Version string
	// Clients returns a client per kubeconfig context (kube.Kubeconfig when nil).
	Clients kube.ClientFor
	// Out and Err receive output and errors (os.Stdout and os.Stderr when nil).
	Out, Err io.Writer
	// GoFlags are added to the root (the standard library's flags: --kubeconfig).
	GoFlags *goflag.FlagSet
}

// DefaultConfigDir is where relationship files live unless --config-dir says otherwise.
func DefaultConfigDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".volsync"
	}
	return filepath.Join(home, ".volsync")
}

// New returns the root command.
func New(o Options) *cobra.Command {
	if o.Clients == nil {
		o.Clients = kube.Kubeconfig
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Err == nil {
		o.Err = os.Stderr
	}
	root := &cobra.Command{
		Use:   "volsync",
		Short: "Set up VolSync replication and migration",
		Long: `Set up and manage VolSync (volsync.backube/v1alpha1) data movement without writing YAML:

  replication  replicate a PVC to another namespace or cluster, on a schedule or on demand
  migration    copy a directory of this machine into a PVC, as often as needed

Objects are named [context/]namespace/name, where context is a context of the kubeconfig
(omitted: the current context). Relationships are remembered in files in --config-dir.`,
		Version:       o.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl volsync"},
	}
	root.SetOut(o.Out)
	root.SetErr(o.Err)
	root.SetVersionTemplate("volsync version {{.Version}}\n")
	root.PersistentFlags().String("config-dir", DefaultConfigDir(), "directory holding the relationship files")
	if o.GoFlags != nil {
		root.PersistentFlags().AddGoFlagSet(o.GoFlags)
	}
	root.AddCommand(replicationCommand(o), migrationCommand(o))
	return root
}

func configDir(cmd *cobra.Command) string {
	dir, _ := cmd.Flags().GetString("config-dir")
	return dir
}

func relationshipName(cmd *cobra.Command) string {
	name, _ := cmd.Flags().GetString("relationship")
	return name
}

// optional returns nil for an empty flag value.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
