package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/driver"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/provisioner"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/registration"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/sock"
)

// version is reported by GetPluginInfo; override with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	klog.Flush()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		klog.ErrorS(err, "csi-hostpath failed")
		klog.Flush()
		os.Exit(1)
	}
}

type options struct {
	endpoint        string
	driverName      string
	nodeID          string
	dataDir         string
	registrationDir string
	kubeconfig      string
	provision       bool
}

func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("csi-hostpath", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.endpoint, "endpoint", "unix:///var/lib/kubelet/plugins/"+driver.DefaultName+"/csi.sock", "CSI endpoint (unix:///path/to/csi.sock)")
	fs.StringVar(&o.driverName, "driver-name", driver.DefaultName, "CSI driver name")
	fs.StringVar(&o.nodeID, "node-id", "", "node ID reported to the kubelet and used for PV node affinity (default: hostname); use the Kubernetes node name")
	fs.StringVar(&o.dataDir, "data-dir", "/var/lib/csi-hostpath", "directory holding volumes/<id> and snapshots/<id>")
	fs.StringVar(&o.registrationDir, "registration-dir", "/var/lib/kubelet/plugins_registry", "kubelet plugin registration directory; empty disables registration")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig for --provision (default: in-cluster config)")
	fs.BoolVar(&o.provision, "provision", false, "provision and delete PersistentVolumes for StorageClasses of this driver")
	klog.InitFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.nodeID == "" {
		h, err := os.Hostname()
		if err != nil {
			return o, fmt.Errorf("--node-id not given and no hostname: %w", err)
		}
		o.nodeID = h
	}
	return o, nil
}

// run serves until ctx is cancelled, then shuts down in order: registration socket first (the
// kubelet deregisters the driver), then the provisioner, then the CSI socket.
func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	csiPath, err := sock.ParseEndpoint(o.endpoint)
	if err != nil {
		return err
	}
	d, err := driver.New(driver.Options{Name: o.driverName, Version: version, NodeID: o.nodeID, DataDir: o.dataDir})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)

	// Both sockets exist before either is served, the CSI one first: the kubelet may dial the
	// registration socket as soon as it appears, and then the CSI endpoint it announces.
	csiLis, err := sock.Listen(csiPath)
	if err != nil {
		return fmt.Errorf("CSI endpoint: %w", err)
	}
	var reg *registration.Server
	var regLis net.Listener
	if o.registrationDir != "" {
		regPath := filepath.Join(o.registrationDir, o.driverName+"-reg.sock")
		if regLis, err = sock.Listen(regPath); err != nil {
			_ = csiLis.Close()
			return fmt.Errorf("registration socket: %w", err)
		}
		reg = registration.New(o.driverName, csiPath)
	}

	csiDone := make(chan struct{})
	go func() {
		defer close(csiDone)
		if err := d.Serve(csiLis); err != nil {
			errs <- fmt.Errorf("CSI server: %w", err)
		}
	}()
	klog.InfoS("serving CSI", "driver", o.driverName, "endpoint", csiPath, "node", o.nodeID, "dataDir", o.dataDir)
	regDone := make(chan struct{})
	if reg != nil {
		klog.InfoS("serving kubelet plugin registration", "socket", regLis.Addr().String())
		go func() {
			defer close(regDone)
			if err := reg.Serve(regLis); err != nil {
				errs <- fmt.Errorf("registration server: %w", err)
			}
		}()
	} else {
		close(regDone)
	}

	provDone := make(chan struct{})
	if o.provision {
		if err := startProvisioner(ctx, o, d, provDone, errs); err != nil {
			cancel()
			shutdown(d, reg, regDone, provDone, csiDone)
			return err
		}
	} else {
		close(provDone)
	}

	var runErr error
	select {
	case <-ctx.Done():
		klog.InfoS("shutting down")
	case runErr = <-errs:
	}
	cancel()
	shutdown(d, reg, regDone, provDone, csiDone)
	return runErr
}

func shutdown(d *driver.Driver, reg *registration.Server, regDone, provDone, csiDone <-chan struct{}) {
	if reg != nil {
		reg.Stop()
	}
	<-regDone
	<-provDone
	stopped := make(chan struct{})
	go func() { d.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		klog.InfoS("CSI calls still running after 10s, closing connections")
		d.ForceStop()
	}
	<-csiDone
}

// startProvisioner connects to the API server, makes sure the CSIDriver object exists and runs
// the provisioner until ctx ends; done is closed when it has stopped (or at once on error).
func startProvisioner(ctx context.Context, o options, d *driver.Driver, done chan<- struct{}, errs chan<- error) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err == nil {
		cfg.UserAgent = "csi-hostpath/" + version
	}
	var client kubernetes.Interface
	var dyn dynamic.Interface
	if err == nil {
		client, err = kubernetes.NewForConfig(cfg)
	}
	if err == nil {
		dyn, err = dynamic.NewForConfig(cfg)
	}
	if err != nil {
		close(done)
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if _, err := provisioner.EnsureCSIDriver(ctx, client, o.driverName); err != nil {
		klog.ErrorS(err, "cannot ensure the CSIDriver object; create it yourself with attachRequired: false")
	}
	p := provisioner.New(provisioner.Config{
		DriverName: o.driverName, NodeID: o.nodeID, Controller: d.Controller(), Client: client, Dynamic: dyn,
	})
	go func() {
		defer close(done)
		if err := p.Run(ctx); err != nil {
			errs <- fmt.Errorf("provisioner: %w", err)
		}
	}()
	return nil
}
