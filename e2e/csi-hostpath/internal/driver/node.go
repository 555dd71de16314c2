package driver

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/mountutil"
)

type nodeServer struct {
	csi.UnimplementedNodeServer
	d *Driver
}

func (s *nodeServer) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: s.d.opts.NodeID}, nil
}

// NodeGetCapabilities reports no optional node RPCs: no staging, so the kubelet calls
// NodePublishVolume directly.
func (s *nodeServer) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

func readOnlyMode(m csi.VolumeCapability_AccessMode_Mode) bool {
	return m == csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY ||
		m == csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
}

// NodePublishVolume bind-mounts the volume's directory onto the target path (created if
// missing), read-only when asked. Publishing an already mounted target succeeds.
func (s *nodeServer) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, target, capability := req.GetVolumeId(), req.GetTargetPath(), req.GetVolumeCapability()
	switch {
	case id == "":
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	case target == "":
		return nil, status.Error(codes.InvalidArgument, "target path is required")
	case capability == nil:
		return nil, status.Error(codes.InvalidArgument, "volume capability is required")
	}
	if err := validateCapabilities([]*csi.VolumeCapability{capability}); err != nil {
		return nil, err
	}
	v, err := s.d.store.GetVolume(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "volume %q not found", id)
	}
	readOnly := req.GetReadonly() || readOnlyMode(capability.GetAccessMode().GetMode())

	s.d.nodeMu.Lock()
	defer s.d.nodeMu.Unlock()
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "create target %s: %v", target, err)
	}
	info, mounted, err := mountutil.Lookup(target)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "inspect target %s: %v", target, err)
	}
	if mounted {
		if info.ReadOnly() != readOnly {
			return nil, status.Errorf(codes.AlreadyExists, "target %s is already mounted with read-only=%v", target, info.ReadOnly())
		}
		return &csi.NodePublishVolumeResponse{}, nil
	}
	if err := mountutil.BindMount(s.d.store.VolumePath(id), target, readOnly); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// NodeUnpublishVolume unmounts the target and removes it. A missing target succeeds.
func (s *nodeServer) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	switch {
	case id == "":
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	case target == "":
		return nil, status.Error(codes.InvalidArgument, "target path is required")
	}
	s.d.nodeMu.Lock()
	defer s.d.nodeMu.Unlock()
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		return &csi.NodeUnpublishVolumeResponse{}, nil
	}
	if err := mountutil.Unmount(target); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	// Remove, not RemoveAll: a non-empty directory here means the unmount did not happen.
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "remove target %s: %v", target, err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}
