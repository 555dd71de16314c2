package syncthing

import (
	"strings"
	"testing"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/syncthing-controller/internal/stapi"
)

const (
	idA = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA"
	idB = "BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB"
	idC = "CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC-CCCCCCC"
)

func TestInSync(t *testing.T) {
	peers := []v1alpha1.SyncthingPeer{{ID: idB}, {ID: idC}}
	complete := stapi.Completion{Completion: 100, RemoteState: "valid"}
	good := func() observed {
		return observed{
			MyID:        idA,
			Connections: map[string]stapi.Connection{idB: {Connected: true}, idC: {Connected: true}},
			Completions: map[string]stapi.Completion{idB: complete, idC: complete},
			Folder:      stapi.FolderStatus{State: "idle"},
		}
	}
	for _, tc := range []struct {
		name   string
		peers  []v1alpha1.SyncthingPeer
		change func(*observed)
		want   string // "" for in sync, else a fragment of why
	}{
		{"all complete", peers, func(*observed) {}, ""},
		{"no peers", nil, func(*observed) {}, "no peers configured"},
		{"one not connected", peers, func(o *observed) { o.Connections[idC] = stapi.Connection{} }, "peer CCCCCCC not connected"},
		{"not sharing", peers, func(o *observed) { o.Completions[idB] = stapi.Completion{Completion: 100, RemoteState: "notSharing"} }, "peer BBBBBBB does not share the folder yet"},
		// syncthing says 100 for a device it knows nothing about: remoteState decides.
		{"unknown state", peers, func(o *observed) { o.Completions[idB] = stapi.Completion{Completion: 100, RemoteState: "unknown"} }, "does not share"},
		{"peer receiving", peers, func(o *observed) {
			o.Completions[idC] = stapi.Completion{Completion: 40, NeedItems: 3, RemoteState: "valid"}
		}, "peer CCCCCCC is receiving"},
		{"peer deleting", peers, func(o *observed) {
			o.Completions[idC] = stapi.Completion{Completion: 100, NeedDeletes: 1, RemoteState: "valid"}
		}, "peer CCCCCCC is receiving"},
		{"local receiving", peers, func(o *observed) { o.Folder = stapi.FolderStatus{State: "syncing", NeedTotalItems: 5} }, "receiving"},
		{"local scanning", peers, func(o *observed) { o.Folder.State = "scanning" }, "local folder scanning"},
		{"pull errors", peers, func(o *observed) { o.Folder.PullErrors = 2 }, "2 file(s) could not be written"},
		{"folder stopped", peers, func(o *observed) { o.Folder.Error = "folder path missing" }, "folder stopped: folder path missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.change(&o)
			ok, why := inSync(tc.peers, o)
			if tc.want == "" {
				if !ok || why != "" {
					t.Errorf("in sync %v (%q), want true", ok, why)
				}
				return
			}
			if ok || !strings.Contains(why, tc.want) {
				t.Errorf("in sync %v %q, want false with %q", ok, why, tc.want)
			}
		})
	}
}

func TestPeerStatus(t *testing.T) {
	o := observed{
		MyID: idA,
		Devices: []stapi.Device{
			{ID: idC, Name: "c", Addresses: []string{"tcp://c:22000"}, IntroducedBy: idB},
			{ID: idA, Name: "me"},
			{ID: idB, Name: "b", Addresses: []string{"tcp://b:22000"}},
		},
		Connections: map[string]stapi.Connection{idB: {Connected: true, Address: "10.0.0.2:41234"}},
	}
	got := peerStatus(o)
	want := []v1alpha1.SyncthingPeerStatus{
		{ID: idB, Name: "b", Address: "tcp://10.0.0.2:41234", Connected: true},
		{ID: idC, Name: "c", Address: "tcp://c:22000", IntroducedBy: idB},
	}
	if len(got) != len(want) {
		t.Fatalf("peers %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("peer %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestCheckPeers(t *testing.T) {
	if err := checkPeers([]v1alpha1.SyncthingPeer{{ID: idB}, {ID: idB}}, ""); err == nil || !strings.Contains(err.Error(), "duplicate peer") {
		t.Errorf("duplicate: %v", err)
	}
	if err := checkPeers([]v1alpha1.SyncthingPeer{{ID: idA}}, idA); err == nil || !strings.Contains(err.Error(), "the node itself") {
		t.Errorf("self: %v", err)
	}
	if err := checkPeers([]v1alpha1.SyncthingPeer{{ID: idB}, {ID: idC}}, idA); err != nil {
		t.Errorf("good peers: %v", err)
	}
}

func TestNames(t *testing.T) {
	n := namesOf("east")
	if n.Deployment != "volsync-east" || n.Secret != "volsync-east" || n.Config != "volsync-east-config" ||
		n.API != "volsync-east-api" || n.Data != "volsync-east-data" || n.App != "east" {
		t.Errorf("names %+v", n)
	}
	long := strings.Repeat("x", 70)
	n = namesOf(long)
	if !strings.HasPrefix(n.API, "volsync-api-") || !strings.HasPrefix(n.Data, "volsync-data-") || len(n.Deployment) > 63 || len(n.App) != 8 {
		t.Errorf("long names %+v", n)
	}
	if n.Secret != "volsync-"+long || n.Config != "volsync-"+long+"-config" {
		t.Errorf("Secret and PVC names need not be shortened: %+v", n)
	}
}
