package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if o.driverName != "hostpath.csi.volsync.test" || o.nodeID != host || o.dataDir != "/var/lib/csi-hostpath" ||
		o.registrationDir != "/var/lib/kubelet/plugins_registry" || o.provision || o.kubeconfig != "" {
		t.Fatalf("defaults = %+v", o)
	}
	if _, err := parseFlags([]string{"--no-such-flag"}, &bytes.Buffer{}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

// TestMain lets the tests run this package's main() as a separate process: the test binary
// re-executes itself with asMainEnv set (no go toolchain needed at test time).
func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Args = append([]string{"csi-hostpath"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const asMainEnv = "CSI_HOSTPATH_TEST_AS_MAIN"

// TestBinaryServesRegistersAndStopsOnSIGTERM runs main() as its own process with the deployed
// command-line contract: it replaces a stale CSI socket, serves CSI and the kubelet
// registration socket, and on SIGTERM exits 0 and removes both sockets.
func TestBinaryServesRegistersAndStopsOnSIGTERM(t *testing.T) {
	tmp := t.TempDir()
	csiPath := filepath.Join(tmp, "plugins", "drv", "csi.sock")
	regDir := filepath.Join(tmp, "plugins_registry")
	regPath := filepath.Join(regDir, "test.csi.example-reg.sock")

	// A stale socket from an earlier run: a socket file nobody listens on.
	if err := os.MkdirAll(filepath.Dir(csiPath), 0o755); err != nil {
		t.Fatal(err)
	}
	stale, err := net.Listen("unix", csiPath)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = stale.Close()

	var logs syncBuffer
	cmd := exec.Command(os.Args[0],
		"--endpoint=unix://"+csiPath,
		"--driver-name=test.csi.example",
		"--node-id=node-1",
		"--data-dir="+filepath.Join(tmp, "data"),
		"--registration-dir="+regDir,
	)
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	regConn, err := grpc.NewClient("unix://"+regPath, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = regConn.Close() }()
	var info *registerapi.PluginInfo
	for {
		// Poll until the registration socket answers, as the kubelet plugin watcher would.
		callCtx, callCancel := context.WithTimeout(ctx, time.Second)
		info, err = registerapi.NewRegistrationClient(regConn).GetInfo(callCtx, &registerapi.InfoRequest{}, grpc.WaitForReady(true))
		callCancel()
		if err == nil {
			break
		}
		select {
		case e := <-exited:
			t.Fatalf("driver exited early: %v\n%s", e, logs.String())
		case <-ctx.Done():
			t.Fatalf("registration socket never answered: %v\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if info.Type != registerapi.CSIPlugin || info.Name != "test.csi.example" || info.Endpoint != csiPath ||
		strings.Join(info.SupportedVersions, ",") != "1.0.0" {
		t.Fatalf("registration info = %+v", info)
	}

	// The kubelet next dials the announced endpoint and asks for the node ID.
	csiConn, err := grpc.NewClient("unix://"+info.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = csiConn.Close() }()
	pi, err := csi.NewIdentityClient(csiConn).GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil || pi.Name != "test.csi.example" {
		t.Fatalf("GetPluginInfo = %v, %v", pi, err)
	}
	ni, err := csi.NewNodeClient(csiConn).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil || ni.NodeId != "node-1" {
		t.Fatalf("NodeGetInfo = %v, %v", ni, err)
	}
	if _, err := registerapi.NewRegistrationClient(regConn).NotifyRegistrationStatus(ctx,
		&registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"volumes", "snapshots"} {
		if fi, err := os.Stat(filepath.Join(tmp, "data", d)); err != nil || !fi.IsDir() {
			t.Fatalf("data dir %s: %v", d, err)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-ctx.Done():
		t.Fatalf("driver did not exit after SIGTERM\n%s", logs.String())
	}
	for _, p := range []string{csiPath, regPath} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("socket %s left behind: %v", p, err)
		}
	}
	if !strings.Contains(logs.String(), "kubelet registered the plugin") {
		t.Errorf("registration status not logged:\n%s", logs.String())
	}
}
