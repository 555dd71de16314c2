package registration

import (
	"context"
	"errors"
	"net"
	"sync"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// SupportedVersions are the CSI versions announced to the kubelet.
var SupportedVersions = []string{"1.0.0"}

// Server answers the kubelet plugin watcher for one CSI driver.
type Server struct {
	registerapi.UnimplementedRegistrationServer

	driverName string
	endpoint   string // CSI socket path as the kubelet sees it

	mu       sync.Mutex
	grpc     *grpc.Server
	stopped  bool // Stop was called; a later Serve returns at once
	statuses []*registerapi.RegistrationStatus
	notified chan struct{}
}

// New returns a registration server announcing driverName with its CSI socket at csiSocketPath.
func New(driverName, csiSocketPath string) *Server {
	return &Server{driverName: driverName, endpoint: csiSocketPath, notified: make(chan struct{})}
}

// GetInfo tells the kubelet what kind of plugin this is and where its CSI socket is.
func (s *Server) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	klog.InfoS("kubelet asked for plugin info", "driver", s.driverName)
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.driverName,
		Endpoint:          s.endpoint,
		SupportedVersions: SupportedVersions,
	}, nil
}

// NotifyRegistrationStatus records and logs the kubelet's verdict.
func (s *Server) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if st.GetPluginRegistered() {
		klog.InfoS("kubelet registered the plugin", "driver", s.driverName)
	} else {
		klog.ErrorS(errors.New(st.GetError()), "kubelet did not register the plugin", "driver", s.driverName)
	}
	s.mu.Lock()
	s.statuses = append(s.statuses, st)
	if len(s.statuses) == 1 {
		close(s.notified)
	}
	s.mu.Unlock()
	return &registerapi.RegistrationStatusResponse{}, nil
}

// Notified is closed when the kubelet has sent its first registration status.
func (s *Server) Notified() <-chan struct{} { return s.notified }

// Statuses returns the registration statuses received so far.
func (s *Server) Statuses() []*registerapi.RegistrationStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*registerapi.RegistrationStatus(nil), s.statuses...)
}

// Serve serves the registration service on lis until Stop.
func (s *Server) Serve(lis net.Listener) error {
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, s)
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return lis.Close()
	}
	s.grpc = srv
	s.mu.Unlock()
	err := srv.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Stop stops serving and closes the listener, which removes the socket file so the kubelet
// deregisters the plugin.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.grpc
	s.stopped = true
	s.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}
