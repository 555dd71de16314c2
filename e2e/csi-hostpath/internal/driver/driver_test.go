package driver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/driver"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/mountutil"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/sock"
	"github.com/volsync-go/volsync/e2e/csi-hostpath/internal/treesum"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (bind mounts, owner changes)")
	}
}

// startDriver serves a driver on a temporary unix socket and returns it and its endpoint.
func startDriver(t *testing.T, dataDir string) (*driver.Driver, string) {
	t.Helper()
	d, err := driver.New(driver.Options{NodeID: "test-node", DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	sockPath := filepath.Join(t.TempDir(), "csi.sock")
	lis, err := sock.Listen(sockPath)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Serve(lis) }()
	t.Cleanup(func() {
		d.Stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return d, "unix://" + sockPath
}

type clients struct {
	id   csi.IdentityClient
	ctrl csi.ControllerClient
	node csi.NodeClient
}

func dial(t *testing.T, endpoint string) clients {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return clients{csi.NewIdentityClient(conn), csi.NewControllerClient(conn), csi.NewNodeClient(conn)}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

var mountRW = &csi.VolumeCapability{
	AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
}

func createReq(name string, size int64, src *csi.VolumeContentSource) *csi.CreateVolumeRequest {
	return &csi.CreateVolumeRequest{
		Name:                name,
		CapacityRange:       &csi.CapacityRange{RequiredBytes: size},
		VolumeCapabilities:  []*csi.VolumeCapability{mountRW},
		VolumeContentSource: src,
	}
}

func sum(t *testing.T, dir string) (string, string) {
	t.Helper()
	s, listing, err := treesum.Sum(dir, treesum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s, listing
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func TestIdentity(t *testing.T) {
	_, ep := startDriver(t, t.TempDir())
	c := dial(t, ep)
	info, err := c.id.GetPluginInfo(ctx(t), &csi.GetPluginInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != driver.DefaultName || info.VendorVersion == "" {
		t.Fatalf("plugin info = %+v", info)
	}
	caps, err := c.id.GetPluginCapabilities(ctx(t), &csi.GetPluginCapabilitiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(caps.Capabilities) != 1 || caps.Capabilities[0].GetService().GetType() != csi.PluginCapability_Service_CONTROLLER_SERVICE {
		t.Fatalf("plugin capabilities = %v", caps.Capabilities)
	}
	probe, err := c.id.Probe(ctx(t), &csi.ProbeRequest{})
	if err != nil || !probe.GetReady().GetValue() {
		t.Fatalf("probe = %v, %v", probe, err)
	}
	cc, err := c.ctrl.ControllerGetCapabilities(ctx(t), &csi.ControllerGetCapabilitiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[csi.ControllerServiceCapability_RPC_Type]bool{}
	for _, c := range cc.Capabilities {
		got[c.GetRpc().GetType()] = true
	}
	for _, want := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
	} {
		if !got[want] {
			t.Errorf("controller capability %s missing", want)
		}
	}
	ni, err := c.node.NodeGetInfo(ctx(t), &csi.NodeGetInfoRequest{})
	if err != nil || ni.NodeId != "test-node" {
		t.Fatalf("node info = %v, %v", ni, err)
	}
}

// TestDataLifecycle writes a tree through a published volume, then snapshots, clones and
// restores it and compares digests of the trees at each step.
func TestDataLifecycle(t *testing.T) {
	requireRoot(t)
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	d, ep := startDriver(t, dataDir)
	c := dial(t, ep)
	const size = 100 << 20

	// An empty volume: a world-writable directory.
	a, err := c.ctrl.CreateVolume(ctx(t), createReq("pvc-a", size, nil))
	if err != nil {
		t.Fatal(err)
	}
	if a.Volume.CapacityBytes != size {
		t.Fatalf("capacity = %d, want %d", a.Volume.CapacityBytes, size)
	}
	aID := a.Volume.VolumeId
	if fi, err := os.Stat(d.VolumePath(aID)); err != nil || fi.Mode().Perm() != 0o777 || !fi.IsDir() {
		t.Fatalf("new volume directory: %v, %v", fi, err)
	}
	if d.VolumePath(aID) != filepath.Join(dataDir, "volumes", aID) {
		t.Fatalf("volume path %s not under <data-dir>/volumes", d.VolumePath(aID))
	}

	// Publish read-write and write the sample tree through the mount.
	targetA := filepath.Join(tmp, "pods", "a", "mount")
	targetR := filepath.Join(tmp, "pods", "r", "mount")
	// Leave no mount behind if the test stops early (cleanups run before TempDir removal).
	t.Cleanup(func() {
		for _, p := range []string{targetA, targetR} {
			if err := mountutil.Unmount(p); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	if _, err := c.node.NodePublishVolume(ctx(t), &csi.NodePublishVolumeRequest{
		VolumeId: aID, TargetPath: targetA, VolumeCapability: mountRW,
	}); err != nil {
		t.Fatal(err)
	}
	if m, _ := mountutil.IsMountPoint(targetA); !m {
		t.Fatal("target is not a mount point after NodePublishVolume")
	}
	// Publishing again is idempotent.
	if _, err := c.node.NodePublishVolume(ctx(t), &csi.NodePublishVolumeRequest{
		VolumeId: aID, TargetPath: targetA, VolumeCapability: mountRW,
	}); err != nil {
		t.Fatalf("second NodePublishVolume: %v", err)
	}
	if err := treesum.BuildSample(targetA); err != nil {
		t.Fatal(err)
	}
	viaMount, listing := sum(t, targetA)
	onDisk, _ := sum(t, d.VolumePath(aID))
	if viaMount != onDisk {
		t.Fatal("tree written through the mount differs from the volume directory")
	}
	t.Logf("sample tree:\n%s", listing)

	// Snapshot.
	snap, err := c.ctrl.CreateSnapshot(ctx(t), &csi.CreateSnapshotRequest{Name: "snap-1", SourceVolumeId: aID})
	if err != nil {
		t.Fatal(err)
	}
	sn := snap.Snapshot
	if !sn.ReadyToUse || sn.SizeBytes != size || sn.SourceVolumeId != aID || sn.CreationTime == nil {
		t.Fatalf("snapshot = %+v", sn)
	}
	if got, _ := sum(t, d.SnapshotPath(sn.SnapshotId)); got != onDisk {
		t.Fatal("snapshot content differs from the volume")
	}
	again, err := c.ctrl.CreateSnapshot(ctx(t), &csi.CreateSnapshotRequest{Name: "snap-1", SourceVolumeId: aID})
	if err != nil || again.Snapshot.SnapshotId != sn.SnapshotId || !again.Snapshot.CreationTime.AsTime().Equal(sn.CreationTime.AsTime()) {
		t.Fatalf("repeated CreateSnapshot = %v, %v", again, err)
	}

	// Change the volume after the snapshot: the snapshot must not follow.
	if err := os.WriteFile(filepath.Join(targetA, "after-snapshot"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	afterChange, _ := sum(t, d.VolumePath(aID))
	if afterChange == onDisk {
		t.Fatal("digest did not change after writing a file")
	}
	if got, _ := sum(t, d.SnapshotPath(sn.SnapshotId)); got != onDisk {
		t.Fatal("snapshot changed when its source volume changed")
	}

	// Clone the volume as it is now.
	clone, err := c.ctrl.CreateVolume(ctx(t), createReq("pvc-clone", size, &csi.VolumeContentSource{
		Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: aID}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if clone.Volume.ContentSource.GetVolume().GetVolumeId() != aID {
		t.Fatalf("clone content source = %v", clone.Volume.ContentSource)
	}
	if got, l := sum(t, d.VolumePath(clone.Volume.VolumeId)); got != afterChange {
		t.Fatalf("clone differs from its source:\n%s", l)
	}

	// Restore the snapshot, bigger than the source.
	restore, err := c.ctrl.CreateVolume(ctx(t), createReq("pvc-restore", 2*size, &csi.VolumeContentSource{
		Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: sn.SnapshotId}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	rID := restore.Volume.VolumeId
	if restore.Volume.CapacityBytes != 2*size {
		t.Fatalf("restored capacity = %d", restore.Volume.CapacityBytes)
	}
	if got, l := sum(t, d.VolumePath(rID)); got != onDisk {
		t.Fatalf("restored volume differs from the snapshot:\n%s", l)
	}
	// A restore smaller than the snapshot's size cannot fit.
	_, err = c.ctrl.CreateVolume(ctx(t), &csi.CreateVolumeRequest{
		Name:               "pvc-too-small",
		CapacityRange:      &csi.CapacityRange{RequiredBytes: size / 2, LimitBytes: size / 2},
		VolumeCapabilities: []*csi.VolumeCapability{mountRW},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: sn.SnapshotId},
		}},
	})
	wantCode(t, err, codes.OutOfRange)

	// Publish the restore read-only: readable, not writable.
	if _, err := c.node.NodePublishVolume(ctx(t), &csi.NodePublishVolumeRequest{
		VolumeId: rID, TargetPath: targetR, VolumeCapability: mountRW, Readonly: true,
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := sum(t, targetR); got != onDisk {
		t.Fatal("read-only mount shows different content")
	}
	if err := os.WriteFile(filepath.Join(targetR, "x"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write to read-only publish: %v, want EROFS", err)
	}
	// Same target, different read-only flag: refused.
	_, err = c.node.NodePublishVolume(ctx(t), &csi.NodePublishVolumeRequest{
		VolumeId: rID, TargetPath: targetR, VolumeCapability: mountRW,
	})
	wantCode(t, err, codes.AlreadyExists)

	// Unpublish: the mount and the target directory go, the data stays.
	for _, pub := range []struct{ id, target string }{{aID, targetA}, {rID, targetR}} {
		for i := 0; i < 2; i++ { // the second call is the idempotent no-op
			if _, err := c.node.NodeUnpublishVolume(ctx(t), &csi.NodeUnpublishVolumeRequest{
				VolumeId: pub.id, TargetPath: pub.target,
			}); err != nil {
				t.Fatalf("NodeUnpublishVolume #%d: %v", i+1, err)
			}
		}
		if _, err := os.Lstat(pub.target); !os.IsNotExist(err) {
			t.Fatalf("target %s still exists: %v", pub.target, err)
		}
	}
	if got, _ := sum(t, d.VolumePath(aID)); got != afterChange {
		t.Fatal("volume data changed by unpublish")
	}

	// Deleting the snapshot leaves the restored volume intact.
	if _, err := c.ctrl.DeleteSnapshot(ctx(t), &csi.DeleteSnapshotRequest{SnapshotId: sn.SnapshotId}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.SnapshotPath(sn.SnapshotId)); !os.IsNotExist(err) {
		t.Fatalf("snapshot directory still there: %v", err)
	}
	list, err := c.ctrl.ListSnapshots(ctx(t), &csi.ListSnapshotsRequest{})
	if err != nil || len(list.Entries) != 0 {
		t.Fatalf("ListSnapshots after delete = %v, %v", list, err)
	}
	if got, _ := sum(t, d.VolumePath(rID)); got != onDisk {
		t.Fatal("restored volume changed when the snapshot was deleted")
	}
	_, err = c.ctrl.CreateVolume(ctx(t), createReq("pvc-restore-2", size, &csi.VolumeContentSource{
		Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: sn.SnapshotId}},
	}))
	wantCode(t, err, codes.NotFound)

	for _, id := range []string{aID, clone.Volume.VolumeId, rID} {
		for i := 0; i < 2; i++ {
			if _, err := c.ctrl.DeleteVolume(ctx(t), &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stat(d.VolumePath(id)); !os.IsNotExist(err) {
			t.Fatalf("volume directory %s still there: %v", id, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dataDir, "volumes"))
	if err != nil || len(entries) != 0 {
		t.Fatalf("volumes directory not empty after deleting all: %v %v", entries, err)
	}
}

// TestRestartKeepsIdentity checks that a driver restarted on the same data directory answers
// a repeated CreateVolume with the same volume, and removes leftovers of interrupted work.
func TestRestartKeepsIdentity(t *testing.T) {
	dataDir := t.TempDir()
	d1, err := driver.New(driver.Options{NodeID: "n", DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	req := createReq("pvc-restart", 5<<20, nil)
	v1, err := d1.Controller().CreateVolume(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d1.VolumePath(v1.Volume.VolumeId), "data"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Leftovers: a half-built volume and an orphan directory without metadata.
	for _, p := range []string{"volumes/.tmp-vol-x", "volumes/vol-orphan", "snapshots/snap-orphan"} {
		if err := os.MkdirAll(filepath.Join(dataDir, p, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d2, err := driver.New(driver.Options{NodeID: "n", DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"volumes/.tmp-vol-x", "volumes/vol-orphan", "snapshots/snap-orphan"} {
		if _, err := os.Stat(filepath.Join(dataDir, p)); !os.IsNotExist(err) {
			t.Errorf("leftover %s not removed: %v", p, err)
		}
	}
	v2, err := d2.Controller().CreateVolume(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Volume.VolumeId != v1.Volume.VolumeId || v2.Volume.CapacityBytes != v1.Volume.CapacityBytes {
		t.Fatalf("after restart: %v, before: %v", v2.Volume, v1.Volume)
	}
	if b, err := os.ReadFile(filepath.Join(d2.VolumePath(v2.Volume.VolumeId), "data")); err != nil || string(b) != "kept" {
		t.Fatalf("data after restart: %q %v", b, err)
	}
	// Same name, incompatible capacity.
	_, err = d2.Controller().CreateVolume(ctx(t), &csi.CreateVolumeRequest{
		Name: "pvc-restart", VolumeCapabilities: []*csi.VolumeCapability{mountRW},
		CapacityRange: &csi.CapacityRange{RequiredBytes: 10 << 20},
	})
	wantCode(t, err, codes.AlreadyExists)
	// Same name, different content source.
	_, err = d2.Controller().CreateVolume(ctx(t), createReq("pvc-restart", 5<<20, &csi.VolumeContentSource{
		Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: v1.Volume.VolumeId}},
	}))
	wantCode(t, err, codes.AlreadyExists)
}

func TestRejectsBadInput(t *testing.T) {
	dataDir := t.TempDir()
	d, err := driver.New(driver.Options{NodeID: "n", DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	ctrl := d.Controller()
	// IDs that try to leave the data directory delete nothing.
	victim := filepath.Join(dataDir, "victim")
	if err := os.Mkdir(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"../victim", "..", "/etc", "a/../../victim"} {
		if _, err := ctrl.DeleteVolume(ctx(t), &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
			t.Fatalf("DeleteVolume(%q): %v", id, err)
		}
		if _, err := ctrl.DeleteSnapshot(ctx(t), &csi.DeleteSnapshotRequest{SnapshotId: id}); err != nil {
			t.Fatalf("DeleteSnapshot(%q): %v", id, err)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("directory outside the store was removed: %v", err)
	}
	block := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: mountRW.AccessMode,
	}
	_, err = ctrl.CreateVolume(ctx(t), &csi.CreateVolumeRequest{Name: "b", VolumeCapabilities: []*csi.VolumeCapability{block}})
	wantCode(t, err, codes.InvalidArgument)
	_, err = ctrl.CreateVolume(ctx(t), &csi.CreateVolumeRequest{Name: "b", VolumeCapabilities: []*csi.VolumeCapability{mountRW},
		CapacityRange: &csi.CapacityRange{RequiredBytes: 10, LimitBytes: 5}})
	wantCode(t, err, codes.InvalidArgument)
	_, err = ctrl.CreateSnapshot(ctx(t), &csi.CreateSnapshotRequest{Name: "s", SourceVolumeId: "vol-missing"})
	wantCode(t, err, codes.NotFound)
	_, err = ctrl.CreateVolume(ctx(t), createReq("c", 1, &csi.VolumeContentSource{
		Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: "vol-missing"}},
	}))
	wantCode(t, err, codes.NotFound)
	// No capacity asked: the default.
	v, err := ctrl.CreateVolume(ctx(t), &csi.CreateVolumeRequest{Name: "dflt", VolumeCapabilities: []*csi.VolumeCapability{mountRW}})
	if err != nil || v.Volume.CapacityBytes != driver.DefaultCapacity {
		t.Fatalf("default capacity: %v, %v", v, err)
	}
}

// TestStopBeforeServe covers a SIGTERM that arrives before the server goroutine runs.
func TestStopBeforeServe(t *testing.T) {
	d, err := driver.New(driver.Options{NodeID: "n", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "csi.sock")
	lis, err := sock.Listen(p)
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()
	done := make(chan error, 1)
	go func() { done <- d.Serve(lis) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve after Stop did not return")
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}
