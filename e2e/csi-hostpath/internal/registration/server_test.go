package registration_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/registration"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/sock"
)

// TestKubeletHandshake plays the kubelet plugin watcher: GetInfo, then NotifyRegistrationStatus.
func TestKubeletHandshake(t *testing.T) {
	dir := t.TempDir()
	regPath := filepath.Join(dir, "hostpath.csi.volsync.test-reg.sock")
	srv := registration.New("hostpath.csi.volsync.test", "/var/lib/kubelet/plugins/x/csi.sock")
	lis, err := sock.Listen(regPath)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()

	conn, err := grpc.NewClient("unix://"+regPath, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := registerapi.NewRegistrationClient(conn)
	info, err := c.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != registerapi.CSIPlugin || info.Name != "hostpath.csi.volsync.test" ||
		info.Endpoint != "/var/lib/kubelet/plugins/x/csi.sock" ||
		len(info.SupportedVersions) != 1 || info.SupportedVersions[0] != "1.0.0" {
		t.Fatalf("unexpected plugin info: %+v", info)
	}
	select {
	case <-srv.Notified():
		t.Fatal("notified before any status was sent")
	default:
	}
	if _, err := c.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.Notified():
	case <-ctx.Done():
		t.Fatal("registration status not recorded")
	}
	if st := srv.Statuses(); len(st) != 1 || !st[0].PluginRegistered {
		t.Fatalf("statuses = %v", st)
	}

	srv.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return after Stop")
	}
	// The socket file is gone, so the kubelet's plugin watcher deregisters the driver.
	if _, err := filepath.Glob(regPath); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(regPath); len(m) != 0 {
		t.Fatal("registration socket still exists after Stop")
	}
}

// TestStopBeforeServe covers a SIGTERM that arrives before the server goroutine runs.
func TestStopBeforeServe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "reg.sock")
	lis, err := sock.Listen(p)
	if err != nil {
		t.Fatal(err)
	}
	srv := registration.New("d", "/x.sock")
	srv.Stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve after Stop did not return")
	}
	if m, _ := filepath.Glob(p); len(m) != 0 {
		t.Fatal("socket left behind")
	}
}
