package driver

import (
	"context"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultCapacity is the capacity of a volume created without a capacity range.
const DefaultCapacity = 1 << 30

type controllerServer struct {
	csi.UnimplementedControllerServer
	d *Driver
}

func controllerCap(t csi.ControllerServiceCapability_RPC_Type) *csi.ControllerServiceCapability {
	return &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
		Rpc: &csi.ControllerServiceCapability_RPC{Type: t},
	}}
}

func (s *controllerServer) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: []*csi.ControllerServiceCapability{
		controllerCap(csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME),
		controllerCap(csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT),
		controllerCap(csi.ControllerServiceCapability_RPC_CLONE_VOLUME),
		controllerCap(csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS),
	}}, nil
}

// validateCapabilities accepts mount volumes with any access mode (there is one node, so the
// multi-node modes are trivially satisfied) and refuses raw block volumes.
func validateCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	for _, c := range caps {
		if c == nil {
			return status.Error(codes.InvalidArgument, "empty volume capability")
		}
		if c.GetBlock() != nil {
			return status.Error(codes.InvalidArgument, "block volumes are not supported")
		}
		if c.GetAccessMode() == nil {
			return status.Error(codes.InvalidArgument, "volume capability without access mode")
		}
	}
	return nil
}

// capacityFor picks the capacity for a range: the required bytes (raised to the content
// source's size when the caller left it open), or DefaultCapacity when nothing is asked.
func capacityFor(r *csi.CapacityRange, sourceSize int64) (int64, error) {
	required, limit := r.GetRequiredBytes(), r.GetLimitBytes()
	if required < 0 || limit < 0 {
		return 0, status.Error(codes.InvalidArgument, "negative capacity")
	}
	if limit > 0 && required > limit {
		return 0, status.Errorf(codes.InvalidArgument, "required bytes %d exceed limit bytes %d", required, limit)
	}
	capacity := required
	if capacity < sourceSize {
		capacity = sourceSize
	}
	if capacity == 0 {
		capacity = DefaultCapacity
		if limit > 0 && limit < capacity {
			capacity = limit
		}
	}
	if limit > 0 && capacity > limit {
		return 0, status.Errorf(codes.OutOfRange, "content source needs %d bytes, more than the limit %d", sourceSize, limit)
	}
	return capacity, nil
}

func (s *controllerServer) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	name := req.GetName()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "volume name is required")
	}
	if err := validateCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	d := s.d
	d.ctrlMu.Lock()
	defer d.ctrlMu.Unlock()

	var srcVolID, srcSnapID, copyFrom string
	var srcSize int64
	if src := req.GetVolumeContentSource(); src != nil {
		switch {
		case src.GetSnapshot() != nil:
			srcSnapID = src.GetSnapshot().GetSnapshotId()
			sn, err := d.store.GetSnapshot(srcSnapID)
			if err != nil {
				return nil, status.Error(codes.Internal, err.Error())
			}
			if sn == nil {
				return nil, status.Errorf(codes.NotFound, "source snapshot %q not found", srcSnapID)
			}
			srcSize, copyFrom = sn.SizeBytes, d.store.SnapshotPath(sn.ID)
		case src.GetVolume() != nil:
			srcVolID = src.GetVolume().GetVolumeId()
			v, err := d.store.GetVolume(srcVolID)
			if err != nil {
				return nil, status.Error(codes.Internal, err.Error())
			}
			if v == nil {
				return nil, status.Errorf(codes.NotFound, "source volume %q not found", srcVolID)
			}
			srcSize, copyFrom = v.CapacityBytes, d.store.VolumePath(v.ID)
		default:
			return nil, status.Error(codes.InvalidArgument, "unknown volume content source")
		}
	}

	id := idFor("vol-", name)
	existing, err := d.store.GetVolume(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if existing != nil {
		if existing.Name != name {
			return nil, status.Errorf(codes.Internal, "volume ID %s already used by name %q", id, existing.Name)
		}
		r := req.GetCapacityRange()
		if existing.CapacityBytes < r.GetRequiredBytes() ||
			(r.GetLimitBytes() > 0 && existing.CapacityBytes > r.GetLimitBytes()) {
			return nil, status.Errorf(codes.AlreadyExists,
				"volume %q exists with capacity %d, incompatible with the requested range", name, existing.CapacityBytes)
		}
		if existing.SourceVolumeID != srcVolID || existing.SourceSnapshotID != srcSnapID {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists with a different content source", name)
		}
		return &csi.CreateVolumeResponse{Volume: volumeProto(existing, req.GetVolumeContentSource())}, nil
	}

	capacity, err := capacityFor(req.GetCapacityRange(), srcSize)
	if err != nil {
		return nil, err
	}
	v := &Volume{
		ID:               id,
		Name:             name,
		CapacityBytes:    capacity,
		Parameters:       req.GetParameters(),
		SourceVolumeID:   srcVolID,
		SourceSnapshotID: srcSnapID,
		CreatedAt:        time.Now().UTC(),
	}
	if err := d.store.CreateVolume(v, copyFrom); err != nil {
		return nil, status.Errorf(codes.Internal, "create volume %q: %v", name, err)
	}
	return &csi.CreateVolumeResponse{Volume: volumeProto(v, req.GetVolumeContentSource())}, nil
}

func volumeProto(v *Volume, src *csi.VolumeContentSource) *csi.Volume {
	return &csi.Volume{VolumeId: v.ID, CapacityBytes: v.CapacityBytes, ContentSource: src}
}

func (s *controllerServer) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	s.d.ctrlMu.Lock()
	defer s.d.ctrlMu.Unlock()
	if err := s.d.store.DeleteVolume(req.GetVolumeId()); err != nil {
		return nil, status.Errorf(codes.Internal, "delete volume %q: %v", req.GetVolumeId(), err)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (s *controllerServer) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	v, err := s.d.store.GetVolume(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "volume %q not found", req.GetVolumeId())
	}
	if err := validateCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

func snapshotProto(sn *Snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     sn.ID,
		SourceVolumeId: sn.SourceVolumeID,
		SizeBytes:      sn.SizeBytes,
		CreationTime:   timestamppb.New(sn.CreatedAt),
		ReadyToUse:     true,
	}
}

func (s *controllerServer) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	name, src := req.GetName(), req.GetSourceVolumeId()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot name is required")
	}
	if src == "" {
		return nil, status.Error(codes.InvalidArgument, "source volume ID is required")
	}
	d := s.d
	d.ctrlMu.Lock()
	defer d.ctrlMu.Unlock()
	id := idFor("snap-", name)
	existing, err := d.store.GetSnapshot(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if existing != nil {
		if existing.Name != name {
			return nil, status.Errorf(codes.Internal, "snapshot ID %s already used by name %q", id, existing.Name)
		}
		if existing.SourceVolumeID != src {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists for source volume %q", name, existing.SourceVolumeID)
		}
		return &csi.CreateSnapshotResponse{Snapshot: snapshotProto(existing)}, nil
	}
	v, err := d.store.GetVolume(src)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "source volume %q not found", src)
	}
	sn := &Snapshot{
		ID:             id,
		Name:           name,
		SourceVolumeID: src,
		SizeBytes:      v.CapacityBytes, // the restore size: a restored volume needs the source's capacity
		CreatedAt:      time.Now().UTC(),
	}
	if err := d.store.CreateSnapshot(sn); err != nil {
		return nil, status.Errorf(codes.Internal, "create snapshot %q: %v", name, err)
	}
	return &csi.CreateSnapshotResponse{Snapshot: snapshotProto(sn)}, nil
}

func (s *controllerServer) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if req.GetSnapshotId() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot ID is required")
	}
	s.d.ctrlMu.Lock()
	defer s.d.ctrlMu.Unlock()
	if err := s.d.store.DeleteSnapshot(req.GetSnapshotId()); err != nil {
		return nil, status.Errorf(codes.Internal, "delete snapshot %q: %v", req.GetSnapshotId(), err)
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots filters by snapshot ID or source volume ID; the token is an offset into the
// list ordered by creation time.
func (s *controllerServer) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, status.Error(codes.InvalidArgument, "max_entries must not be negative")
	}
	all, err := s.d.store.ListSnapshots()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	var matched []*Snapshot
	for _, sn := range all {
		if id := req.GetSnapshotId(); id != "" && sn.ID != id {
			continue
		}
		if src := req.GetSourceVolumeId(); src != "" && sn.SourceVolumeID != src {
			continue
		}
		matched = append(matched, sn)
	}
	start := 0
	if tok := req.GetStartingToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(matched) {
			return nil, status.Errorf(codes.Aborted, "invalid starting token %q", tok)
		}
		start = n
	}
	end := len(matched)
	if m := int(req.GetMaxEntries()); m > 0 && start+m < end {
		end = start + m
	}
	resp := &csi.ListSnapshotsResponse{}
	for _, sn := range matched[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: snapshotProto(sn)})
	}
	if end < len(matched) {
		resp.NextToken = strconv.Itoa(end)
	}
	return resp, nil
}
