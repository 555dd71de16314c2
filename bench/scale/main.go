package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// Defaults of the command-line flags.
const (
	defaultSizes     = "100,500,2000"
	defaultDeadline  = 10 * time.Minute
	defaultIdle      = 60 * time.Second
	defaultSettle    = 5 * time.Second
	defaultWorkers   = 8
	defaultNamespace = "bench"
	// controllerUser is the API server user the controller runs as; the audit policy logs
	// only it.
	controllerUser = "volsync-bench-controller"
)

// config is the command line.
type config struct {
	sizes          []int
	controller     string
	controllerArgs []string
	controllerEnv  []string
	crdDir         string
	deadline, idle time.Duration
	settle         time.Duration
	workers        int
	namespace      string
	jsonOut        string
	workDir        string
	keep           bool
	root           string
	assets         string
	snapshotCRDDir string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--n: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--n: no sizes given")
	}
	return out, nil
}

func parseFlags() (config, error) {
	var c config
	sizes := flag.String("n", defaultSizes, "comma-separated numbers of ReplicationSources; each gets a fresh control plane")
	flag.StringVar(&c.controller, "controller", "", "path of the controller binary to measure (required; run.sh builds it)")
	flag.Func("controller-env", "extra KEY=VALUE in the controller's environment, e.g. GOGC=50 (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("--controller-env %q: want KEY=VALUE", s)
		}
		c.controllerEnv = append(c.controllerEnv, s)
		return nil
	})
	flag.Func("controller-arg", "extra argument for the controller (repeatable)", func(s string) error {
		c.controllerArgs = append(c.controllerArgs, s)
		return nil
	})
	flag.StringVar(&c.crdDir, "crd-dir", "", "directory of the VolSync CRDs (default: deploy/kustomize/crd/bases of the repository root)")
	flag.DurationVar(&c.deadline, "deadline", defaultDeadline, "how long the controller may take to create every Job")
	flag.DurationVar(&c.idle, "idle", defaultIdle, "idle window after the last Job exists, in which requests are counted")
	flag.DurationVar(&c.settle, "settle", defaultSettle,
		"time after the last Job exists for the reconciles that created the last Jobs to finish (their status patches and events); the idle window starts after it")
	flag.IntVar(&c.workers, "workers", defaultWorkers, "parallel creates when setting up the objects")
	flag.StringVar(&c.namespace, "namespace", defaultNamespace, "namespace of the ReplicationSources")
	flag.StringVar(&c.jsonOut, "json", "", "write the results as JSON to this file")
	flag.StringVar(&c.workDir, "workdir", "", "parent of the per-run temporary directories (default: $TMPDIR)")
	flag.BoolVar(&c.keep, "keep", false, "keep each run's directory (audit log, controller log, kubeconfig); kept anyway on failure")
	flag.Parse()
	if flag.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", flag.Args())
	}
	var err error
	if c.sizes, err = parseSizes(*sizes); err != nil {
		return c, err
	}
	if c.controller == "" {
		return c, errors.New("--controller is required")
	}
	if c.controller, err = filepath.Abs(c.controller); err != nil {
		return c, err
	}
	if c.root, err = testenv.RepoRoot(); err != nil {
		return c, err
	}
	if c.crdDir == "" {
		c.crdDir = filepath.Join(c.root, "deploy", "kustomize", "crd", "bases")
	}
	if c.assets, err = testenv.Assets(c.root); err != nil {
		return c, err
	}
	if c.snapshotCRDDir, err = testenv.SnapshotCRDDir(); err != nil {
		return c, err
	}
	return c, nil
}

// Report is what the JSON file holds.
type Report struct {
	Controller string    `json:"controller"`
	Args       []string  `json:"controllerArgs,omitempty"`
	CPUs       int       `json:"cpus"`
	Started    time.Time `json:"started"`
	IdleWindow float64   `json:"idleWindowSeconds"`
	Settle     float64   `json:"settleSeconds"`
	Results    []*Result `json:"results"`
}

func run() error {
	// envtest logs through controller-runtime; the benchmark reports on its own.
	ctrllog.SetLogger(logr.Discard())
	c, err := parseFlags()
	if err != nil {
		return err
	}
	rep := &Report{Controller: c.controller, Args: c.controllerArgs, CPUs: runtime.NumCPU(), Started: time.Now().UTC(), IdleWindow: c.idle.Seconds(), Settle: c.settle.Seconds()}
	var failed error
	for _, n := range c.sizes {
		fmt.Fprintf(os.Stderr, "scale: N=%d: starting a fresh control plane\n", n)
		res, err := runOne(context.Background(), c, n)
		if err != nil {
			failed = fmt.Errorf("size %d: %w", n, err)
			break
		}
		rep.Results = append(rep.Results, res)
		var b strings.Builder
		printResult(&b, res)
		if _, err := os.Stdout.WriteString(b.String()); err != nil {
			return err
		}
	}
	if len(rep.Results) > 0 {
		var b strings.Builder
		printSummary(&b, rep)
		if _, err := os.Stdout.WriteString(b.String()); err != nil {
			return err
		}
	}
	if c.jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", c.jsonOut, err)
		}
	}
	return failed
}
