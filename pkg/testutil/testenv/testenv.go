package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v6/apis/volumesnapshot/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

// AssetsEnv is the variable envtest reads for the directory holding kube-apiserver and etcd.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// snapshotterModule holds the VolumeSnapshot CRDs under config/crd.
const snapshotterModule = "github.com/kubernetes-csi/external-snapshotter/client/v6"

// startTimeout bounds how long the control plane may take to come up on a loaded machine.
const startTimeout = 3 * time.Minute

// ErrNoRepoRoot is returned when no go.work is found above the working directory.
var ErrNoRepoRoot = errors.New("repository root (a directory holding go.work) not found")

// Env is a running control plane with a client that knows the project's types.
type Env struct {
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	env    *envtest.Environment
}

// NewScheme returns a scheme with the core, CRD, VolSync and VolumeSnapshot types.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, v1alpha1.AddToScheme, snapv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// RepoRoot returns the monorepo root: the nearest directory above the working directory
// that holds go.work.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRepoRoot
		}
		dir = parent
	}
}

// Assets returns the directory of the kube-apiserver and etcd binaries: $KUBEBUILDER_ASSETS,
// or what hack/k8s-bins.sh builds (it reuses its cache, so this is quick after the first run).
func Assets(root string) (string, error) {
	if dir := os.Getenv(AssetsEnv); dir != "" {
		return dir, nil
	}
	cmd := exec.Command(filepath.Join(root, "hack", "k8s-bins.sh"), "kube-apiserver", "etcd")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building envtest binaries with hack/k8s-bins.sh: %w", err)
	}
	return strings.TrimSpace(out.String()), nil
}

// SnapshotCRDDir returns the directory of the VolumeSnapshot CRDs in the module cache.
func SnapshotCRDDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", snapshotterModule).Output()
	if err != nil {
		return "", fmt.Errorf("locating module %s: %w", snapshotterModule, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("module %s is not downloaded (run go mod download)", snapshotterModule)
	}
	return filepath.Join(dir, "config", "crd"), nil
}

// Start brings up the control plane with the CRDs installed.
func Start() (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := Assets(root)
	if err != nil {
		return nil, err
	}
	snapDir, err := SnapshotCRDDir()
	if err != nil {
		return nil, err
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths: []string{
			filepath.Join(root, "deploy", "kustomize", "crd", "bases"),
			snapDir,
		},
		ErrorIfCRDPathMissing:    true,
		Scheme:                   scheme,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, env: env}, nil
}

// Stop shuts the control plane down.
func (e *Env) Stop() error {
	return e.env.Stop()
}
