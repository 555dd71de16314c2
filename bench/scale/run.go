package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/bench/scale/internal/audit"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// Timeouts of the benchmark's own steps.
const (
	controlPlaneStartTimeout = 3 * time.Minute
	controlPlaneStopTimeout  = time.Minute
	setupTimeout             = 10 * time.Minute
	controllerStopTimeout    = 30 * time.Second
	// maxErrorSamples is how many distinct controller error messages a result keeps.
	maxErrorSamples = 8
)

// The objects of the scenario.
const (
	schedule    = "*/1 * * * *"
	peerAddress = "10.0.0.1"
	pvcSize     = "1Gi"
)

// Result is one run with N objects.
type Result struct {
	N                int       `json:"n"`
	Load             string    `json:"loadAvgBefore"`
	ControllerStart  time.Time `json:"controllerStart"`
	AllJobsAt        time.Time `json:"allJobsAt"`
	SecondsToAllJobs float64   `json:"secondsToAllJobs"`

	// Requests of the controller until all Jobs exist.
	Until RequestSummary `json:"untilAllJobs"`
	// Tail is the requests after the last Job exists and before the idle window (--settle):
	// the end of the reconciles that created the last Jobs.
	Tail TailSummary `json:"tail"`
	// Requests of the controller in the idle window after that.
	Idle IdleSummary `json:"idle"`
	// TotalRequests is every request of the controller, start to stop.
	TotalRequests int `json:"totalRequests"`

	JobCreates          int         `json:"jobCreates"`
	JobCreatesPerObject float64     `json:"jobCreatesPerObject"`
	JobCreateConflicts  int         `json:"jobCreates409"`
	JobCreateCodes      map[int]int `json:"jobCreateCodes"`

	PeakRSSMiB float64 `json:"peakRSSMiB"`

	ControllerLogLines  int           `json:"controllerLogLines"`
	ControllerErrorLogs int           `json:"controllerErrorLogs"`
	ErrorSamples        []ErrorSample `json:"controllerErrorSamples,omitempty"`
	WorkDir             string        `json:"workDir,omitempty"`
}

// RequestSummary counts requests by verb and resource.
type RequestSummary struct {
	Total              int         `json:"total"`
	PerObject          float64     `json:"perObject"`
	StartUp            int         `json:"startUp"`
	PerObjectExStartUp float64     `json:"perObjectExcludingStartUp"`
	Rows               []audit.Row `json:"rows"`
}

// TailSummary counts the requests of the settle period.
type TailSummary struct {
	Seconds          float64     `json:"seconds"`
	Requests         int         `json:"requests"`
	LastAfterSeconds float64     `json:"lastRequestAfterSeconds"`
	Rows             []audit.Row `json:"rows"`
	// PerObjectUntilSettled is (requests until all Jobs exist + tail - start-up) / N.
	PerObjectUntilSettled float64 `json:"perObjectUntilSettledExcludingStartUp"`
}

// IdleSummary counts the requests of the idle window; watches are counted apart because a
// watch is one long request, not a poll.
type IdleSummary struct {
	WindowSeconds float64 `json:"windowSeconds"`
	Requests      int     `json:"requests"`
	PerSecond     float64 `json:"requestsPerSecond"`
	Watches       int     `json:"watches"`
	// LastAfterSeconds is when the last non-watch request of the window came, after the last
	// Job exists.
	LastAfterSeconds float64     `json:"lastRequestAfterSeconds"`
	Rows             []audit.Row `json:"rows"`
}

// ErrorSample is one distinct error message of the controller's log and how often it came.
type ErrorSample struct {
	Message string `json:"message"`
	Count   int    `json:"count"`
}

func runOne(ctx context.Context, c config, n int) (res *Result, err error) {
	dir, err := os.MkdirTemp(c.workDir, fmt.Sprintf("volsync-scale-%d-", n))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil || c.keep {
			fmt.Fprintf(os.Stderr, "scale: N=%d: kept %s\n", n, dir)
			if res != nil {
				res.WorkDir = dir
			}
			return
		}
		_ = os.RemoveAll(dir)
	}()
	res = &Result{N: n, Load: loadAvg()}

	auditLog := filepath.Join(dir, "audit.log")
	env, err := startControlPlane(c, dir, auditLog)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := env.Stop(); serr != nil {
			fmt.Fprintf(os.Stderr, "scale: stopping the control plane: %v\n", serr)
		}
	}()

	kubeconfig, err := controllerKubeconfig(env, dir)
	if err != nil {
		return nil, err
	}
	scheme, err := testenv.NewScheme()
	if err != nil {
		return nil, err
	}
	admin, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	t0 := time.Now()
	if err := createObjects(setupCtx, admin, c.namespace, n, c.workers); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "scale: N=%d: created %d PVCs and ReplicationSources in %.1fs\n", n, n, time.Since(t0).Seconds())

	jobs, stopWatch, err := watchJobs(env.Config, c.namespace, n)
	if err != nil {
		return nil, err
	}
	defer stopWatch()

	logPath := filepath.Join(dir, "controller.log")
	ctl, err := startController(c, kubeconfig, logPath)
	if err != nil {
		return nil, err
	}
	res.ControllerStart = ctl.started
	defer ctl.stop()
	fmt.Fprintf(os.Stderr, "scale: N=%d: controller started (pid %d), waiting for %d Jobs\n", n, ctl.cmd.Process.Pid, n)

	select {
	case <-jobs.all:
		res.AllJobsAt = jobs.allAt()
	case <-ctl.exited:
		return nil, fmt.Errorf("the controller exited (%w) after %d of %d Jobs; see %s", ctl.exitErr, jobs.count(), n, logPath)
	case <-time.After(c.deadline):
		return nil, fmt.Errorf("only %d of %d Jobs exist %s after the controller started (--deadline); see %s", jobs.count(), n, c.deadline, logPath)
	}
	res.SecondsToAllJobs = res.AllJobsAt.Sub(res.ControllerStart).Seconds()
	fmt.Fprintf(os.Stderr, "scale: N=%d: all Jobs exist after %.1fs; settling %s, then an idle window of %s\n", n, res.SecondsToAllJobs, c.settle, c.idle)

	// The settle period and the idle window are measurement periods, not waits for something
	// to happen.
	idleStart := res.AllJobsAt.Add(c.settle)
	idleEnd := idleStart.Add(c.idle)
	select {
	case <-ctl.exited:
		return nil, fmt.Errorf("the controller exited (%w) in the idle window; see %s", ctl.exitErr, logPath)
	case <-time.After(time.Until(idleEnd)):
	}
	if res.PeakRSSMiB, err = peakRSSMiB(ctl.cmd.Process.Pid); err != nil {
		return nil, err
	}
	ctl.stop()

	reqs, err := audit.ParseFile(auditLog, controllerUser)
	if err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("no request of user %s in %s: is auditing on?", controllerUser, auditLog)
	}
	summarize(res, reqs, idleStart, idleEnd)
	if err := scanControllerLog(res, logPath); err != nil {
		return nil, err
	}
	return res, nil
}

// summarize fills the request counts of res from the controller's requests.
func summarize(res *Result, reqs []audit.Request, idleStart, idleEnd time.Time) {
	n := res.N
	res.TotalRequests = len(reqs)
	until := audit.Between(reqs, time.Time{}, res.AllJobsAt)
	res.Until = RequestSummary{Total: len(until), PerObject: audit.PerObject(len(until), n), Rows: audit.Tally(until, n)}
	for _, r := range until {
		if r.Fixed {
			res.Until.StartUp++
		}
	}
	res.Until.PerObjectExStartUp = audit.PerObject(res.Until.Total-res.Until.StartUp, n)

	tail := audit.Between(reqs, res.AllJobsAt, idleStart)
	res.Tail = TailSummary{Seconds: idleStart.Sub(res.AllJobsAt).Seconds(), Requests: len(tail), Rows: audit.Tally(tail, n)}
	tailStartUp := 0
	for _, r := range tail {
		res.Tail.LastAfterSeconds = r.Received.Sub(res.AllJobsAt).Seconds()
		if r.Fixed {
			tailStartUp++
		}
	}
	res.Tail.PerObjectUntilSettled = audit.PerObject(res.Until.Total-res.Until.StartUp+len(tail)-tailStartUp, n)

	idle := idleEnd.Sub(idleStart)
	window := audit.Between(reqs, idleStart, idleEnd)
	res.Idle = IdleSummary{WindowSeconds: idle.Seconds(), Rows: audit.Tally(window, n)}
	for _, r := range window {
		if r.Verb == "watch" {
			res.Idle.Watches++
			continue
		}
		res.Idle.Requests++
		res.Idle.LastAfterSeconds = r.Received.Sub(res.AllJobsAt).Seconds()
	}
	res.Idle.PerSecond = float64(res.Idle.Requests) / idle.Seconds()

	res.JobCreateCodes = map[int]int{}
	for _, r := range reqs {
		if r.Verb == "create" && r.Resource == "jobs" {
			res.JobCreates++
			res.JobCreateCodes[r.Code]++
		}
	}
	res.JobCreateConflicts = res.JobCreateCodes[409]
	res.JobCreatesPerObject = audit.PerObject(res.JobCreates, n)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// startControlPlane starts kube-apiserver and etcd with auditing of the controller's user and
// installs the CRDs.
func startControlPlane(c config, dir, auditLog string) (*envtest.Environment, error) {
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, fmt.Appendf(nil, audit.PolicyTemplate, controllerUser), 0o644); err != nil {
		return nil, err
	}
	scheme, err := testenv.NewScheme()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    c.assets,
		CRDDirectoryPaths:        []string{c.crdDir, c.snapshotCRDDir},
		ErrorIfCRDPathMissing:    true,
		Scheme:                   scheme,
		ControlPlaneStartTimeout: controlPlaneStartTimeout,
		ControlPlaneStopTimeout:  controlPlaneStopTimeout,
	}
	env.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", auditLog).
		Set("audit-log-format", "json").
		// blocking: each event is written before the request completes, none is dropped.
		Set("audit-log-mode", "blocking").
		Set("audit-log-maxsize", "0")
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", c.assets, err)
	}
	return env, nil
}

// controllerKubeconfig provisions the controller's own user and writes its kubeconfig.
func controllerKubeconfig(env *envtest.Environment, dir string) (string, error) {
	u, err := env.AddUser(envtest.User{Name: controllerUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("provisioning user %s: %w", controllerUser, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "controller.kubeconfig")
	return path, os.WriteFile(path, kc, 0o600)
}

// createObjects creates the namespace and n pairs of source PVC and ReplicationSource.
func createObjects(ctx context.Context, c client.Client, ns string, n, workers int) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	idx := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				if err := createPair(ctx, c, ns, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case idx <- i:
		case err = <-errs:
			break feed
		}
	}
	close(idx)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs // nil when the channel is empty
}

func createPair(ctx context.Context, c client.Client, ns string, i int) error {
	pvcName := fmt.Sprintf("data-%d", i)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pvcName},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(pvcSize)},
			},
		},
	}
	if err := c.Create(ctx, pvc); err != nil {
		return fmt.Errorf("creating PVC %s: %w", pvcName, err)
	}
	sched, addr := schedule, peerAddress
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("rs-%d", i)},
		Spec: v1alpha1.ReplicationSourceSpec{
			SourcePVC: pvcName,
			Trigger:   &v1alpha1.ReplicationSourceTriggerSpec{Schedule: &sched},
			RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{
				ReplicationSourceVolumeOptions: v1alpha1.ReplicationSourceVolumeOptions{CopyMethod: v1alpha1.CopyMethodDirect},
				Address:                        &addr,
			},
		},
	}
	if err := c.Create(ctx, rs); err != nil {
		return fmt.Errorf("creating ReplicationSource %s: %w", rs.Name, err)
	}
	return nil
}

// jobWatch counts the distinct Jobs of a namespace as the admin user sees them.
type jobWatch struct {
	want int
	all  chan struct{}
	mu   sync.Mutex
	seen map[string]bool
	at   time.Time
}

func (w *jobWatch) add(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[j.Name] {
		return
	}
	w.seen[j.Name] = true
	if len(w.seen) == w.want {
		w.at = time.Now()
		close(w.all)
	}
}

func (w *jobWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

func (w *jobWatch) allAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at
}

// watchJobs starts an informer on the Jobs of ns (as the admin, so it is not audited) and
// returns once it has synced.
func watchJobs(cfg *rest.Config, ns string, want int) (*jobWatch, func(), error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	w := &jobWatch{want: want, all: make(chan struct{}), seen: map[string]bool{}}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Batch().V1().Jobs().Informer()
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: w.add}); err != nil {
		return nil, nil, err
	}
	stop := make(chan struct{})
	factory.Start(stop)
	stopAll := func() {
		close(stop)
		factory.Shutdown()
	}
	if !toolscache.WaitForCacheSync(stop, inf.HasSynced) {
		stopAll()
		return nil, nil, errors.New("the Job informer did not sync")
	}
	return w, stopAll, nil
}

// controller is the controller process.
type controller struct {
	cmd     *exec.Cmd
	log     *os.File
	started time.Time
	exited  chan struct{}
	exitErr error
	once    sync.Once
}

func startController(c config, kubeconfig, logPath string) (*controller, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--metrics-bind-address=0", "--health-probe-bind-address=0"}, c.controllerArgs...)
	cmd := exec.Command(c.controller, args...)
	env := []string{"KUBECONFIG=" + kubeconfig}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") {
			env = append(env, kv)
		}
	}
	env = append(env, c.controllerEnv...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	ctl := &controller{cmd: cmd, log: logf, exited: make(chan struct{})}
	ctl.started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("starting %s: %w", c.controller, err)
	}
	go func() {
		ctl.exitErr = cmd.Wait()
		close(ctl.exited)
	}()
	return ctl, nil
}

// stop sends SIGTERM and waits for the process, killing it if it does not exit in time.
func (c *controller) stop() {
	c.once.Do(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.exited:
			case <-time.After(controllerStopTimeout):
				fmt.Fprintf(os.Stderr, "scale: the controller did not stop within %s of SIGTERM; killing it\n", controllerStopTimeout)
				_ = c.cmd.Process.Kill()
				<-c.exited
			}
		}
		_ = c.log.Close()
	})
}

// digits makes messages about different objects (rs-1, rs-2) count as one.
var digits = regexp.MustCompile(`[0-9]+`)

// maxErrorLen bounds the length of a kept error message.
const maxErrorLen = 240

func errorKey(msg, err string) string {
	if err != "" {
		msg += ": " + err
	}
	msg = digits.ReplaceAllString(msg, "N")
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen] + "..."
	}
	return msg
}

// peakRSSMiB reads the high-water mark of the resident set (VmHWM) of a running process.
func peakRSSMiB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "VmHWM:" && fields[2] == "kB" {
			kb, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return 0, fmt.Errorf("parsing VmHWM of pid %d: %w", pid, err)
			}
			return kb / 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// scanControllerLog counts the controller's log lines and its error-level lines (zap JSON or
// console encoding), keeping the most frequent error messages.
func scanControllerLog(res *Result, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		res.ControllerLogLines++
		var entry struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Error string `json:"error"`
		}
		switch {
		case json.Unmarshal([]byte(line), &entry) == nil:
			if entry.Level != "error" {
				continue
			}
		case strings.Contains(line, "\tERROR\t"):
			parts := strings.SplitN(line, "\t", 5)
			if len(parts) >= 4 {
				entry.Msg = parts[3]
			}
		default:
			continue
		}
		res.ControllerErrorLogs++
		counts[errorKey(entry.Msg, entry.Error)]++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for msg, n := range counts {
		res.ErrorSamples = append(res.ErrorSamples, ErrorSample{Message: msg, Count: n})
	}
	sort.Slice(res.ErrorSamples, func(i, j int) bool {
		if res.ErrorSamples[i].Count != res.ErrorSamples[j].Count {
			return res.ErrorSamples[i].Count > res.ErrorSamples[j].Count
		}
		return res.ErrorSamples[i].Message < res.ErrorSamples[j].Message
	})
	if len(res.ErrorSamples) > maxErrorSamples {
		res.ErrorSamples = res.ErrorSamples[:maxErrorSamples]
	}
	return nil
}
