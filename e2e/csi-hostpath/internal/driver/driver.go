package driver

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
)

// DefaultName is the driver name used when none is given.
const DefaultName = "hostpath.csi.volsync.test"

// Options configure a Driver.
type Options struct {
	Name    string // CSI driver name
	Version string // vendor version reported by GetPluginInfo
	NodeID  string // reported by NodeGetInfo
	DataDir string // volumes in <DataDir>/volumes/<id>, snapshots in <DataDir>/snapshots/<id>
}

// Driver serves the CSI Identity, Controller and Node services.
type Driver struct {
	opts  Options
	store *store

	// ctrlMu serialises controller mutations (create/delete of volumes and snapshots).
	ctrlMu sync.Mutex
	// nodeMu serialises mount and unmount.
	nodeMu sync.Mutex

	identity   *identityServer
	controller *controllerServer
	node       *nodeServer

	srvMu   sync.Mutex
	server  *grpc.Server
	stopped bool // Stop was called; a later Serve returns at once
}

// New creates the data directories (removing leftovers of interrupted operations) and returns a Driver.
func New(opts Options) (*Driver, error) {
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Version == "" {
		opts.Version = "0.1.0"
	}
	if opts.NodeID == "" {
		return nil, errors.New("driver: node ID is required")
	}
	if opts.DataDir == "" {
		return nil, errors.New("driver: data directory is required")
	}
	st, err := newStore(opts.DataDir)
	if err != nil {
		return nil, err
	}
	d := &Driver{opts: opts, store: st}
	d.identity = &identityServer{d: d}
	d.controller = &controllerServer{d: d}
	d.node = &nodeServer{d: d}
	return d, nil
}

// Name returns the CSI driver name.
func (d *Driver) Name() string { return d.opts.Name }

// NodeID returns the node ID reported by NodeGetInfo.
func (d *Driver) NodeID() string { return d.opts.NodeID }

// Controller returns the Controller service, for in-process callers such as the provisioner.
func (d *Driver) Controller() csi.ControllerServer { return d.controller }

// VolumePath returns the directory holding the data of a volume ID (it may not exist).
func (d *Driver) VolumePath(id string) string { return d.store.VolumePath(id) }

// SnapshotPath returns the directory holding the data of a snapshot ID (it may not exist).
func (d *Driver) SnapshotPath(id string) string { return d.store.SnapshotPath(id) }

// Serve registers the three services on a new gRPC server and serves lis until Stop.
func (d *Driver) Serve(lis net.Listener) error {
	srv := grpc.NewServer(grpc.UnaryInterceptor(logCalls))
	csi.RegisterIdentityServer(srv, d.identity)
	csi.RegisterControllerServer(srv, d.controller)
	csi.RegisterNodeServer(srv, d.node)
	d.srvMu.Lock()
	if d.stopped {
		d.srvMu.Unlock()
		return lis.Close()
	}
	d.server = srv
	d.srvMu.Unlock()
	err := srv.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Stop lets running calls finish, then closes the listener (which removes the socket file).
func (d *Driver) Stop() {
	d.srvMu.Lock()
	srv := d.server
	d.stopped = true
	d.srvMu.Unlock()
	if srv != nil {
		srv.GracefulStop()
	}
}

// ForceStop closes all connections at once.
func (d *Driver) ForceStop() {
	d.srvMu.Lock()
	srv := d.server
	d.stopped = true
	d.srvMu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// logCalls logs every call except the chatty identity probes, and every error.
func logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	quiet := strings.Contains(info.FullMethod, "/csi.v1.Identity/") ||
		strings.HasSuffix(info.FullMethod, "GetCapabilities") || strings.HasSuffix(info.FullMethod, "/NodeGetInfo")
	if !quiet {
		klog.InfoS("CSI call", "method", info.FullMethod, "request", redact(req))
	}
	resp, err := handler(ctx, req)
	if err != nil {
		klog.ErrorS(err, "CSI call failed", "method", info.FullMethod, "code", status.Code(err).String())
	} else if !quiet {
		klog.V(2).InfoS("CSI call done", "method", info.FullMethod, "response", resp)
	}
	return resp, err
}

// redact drops secrets from requests before they are logged.
func redact(req any) any {
	type secretHolder interface{ GetSecrets() map[string]string }
	if s, ok := req.(secretHolder); ok && len(s.GetSecrets()) > 0 {
		return "<request with secrets>"
	}
	return req
}
