package syncthing

import (
	"fmt"
	"slices"
	"strings"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/syncthing-controller/internal/stapi"
)

// observed is what one poll of a syncthing's API saw.
type observed struct {
	MyID        string
	Devices     []stapi.Device
	Connections map[string]stapi.Connection
	// Completions are the spec peers' completion of the folder (connected peers only).
	Completions map[string]stapi.Completion
	Folder      stapi.FolderStatus
}

// inSync is the rule of the Synchronizing condition, lastSyncTime and
// volsync_volume_out_of_sync: the data is in sync when at least one peer is configured, every
// peer of spec.syncthing.peers is connected and has the whole folder (completion 100 %, it
// shares the folder), and the local folder is idle with nothing to receive and no file it
// failed to write. Introduced peers are shown in the status but do not count: the user did
// not ask for them. why says what is missing, in a stable wording (no percentages), so a
// status is not rewritten at every poll of a long transfer.
func inSync(peers []v1alpha1.SyncthingPeer, o observed) (ok bool, why string) {
	if len(peers) == 0 {
		return false, "no peers configured (spec.syncthing.peers)"
	}
	var problems []string
	for _, p := range peers {
		c := o.Connections[p.ID]
		if !c.Connected {
			problems = append(problems, fmt.Sprintf("peer %s not connected", short(p.ID)))
			continue
		}
		comp, seen := o.Completions[p.ID]
		switch {
		case !seen || comp.RemoteState != "valid":
			problems = append(problems, fmt.Sprintf("peer %s does not share the folder yet", short(p.ID)))
		case comp.NeedItems > 0 || comp.NeedDeletes > 0 || comp.NeedBytes > 0 || comp.Completion < 100:
			problems = append(problems, fmt.Sprintf("peer %s is receiving", short(p.ID)))
		}
	}
	f := o.Folder
	switch {
	case f.Error != "":
		problems = append(problems, "folder stopped: "+f.Error)
	case f.PullErrors > 0:
		problems = append(problems, fmt.Sprintf("%d file(s) could not be written (syncthing retries them)", f.PullErrors))
	case f.NeedTotalItems > 0 || f.NeedBytes > 0:
		problems = append(problems, "receiving")
	case f.State != "idle":
		problems = append(problems, "local folder "+f.State)
	}
	if len(problems) == 0 {
		return true, ""
	}
	return false, "out of sync: " + strings.Join(problems, ", ")
}

// short abbreviates a device ID as syncthing's GUI does (its first group).
func short(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// peerStatus is status.syncthing.peers: every configured device but this one, sorted by ID.
// A connected peer shows the address it connects from; one that is not, the configured one.
func peerStatus(o observed) []v1alpha1.SyncthingPeerStatus {
	var out []v1alpha1.SyncthingPeerStatus
	for _, d := range o.Devices {
		if d.ID == o.MyID {
			continue
		}
		c := o.Connections[d.ID]
		addr := ""
		switch {
		case c.Connected && c.Address != "":
			addr = "tcp://" + c.Address
		case len(d.Addresses) > 0:
			addr = d.Addresses[0]
		}
		out = append(out, v1alpha1.SyncthingPeerStatus{
			ID: d.ID, Address: addr, Connected: c.Connected, Name: d.Name, IntroducedBy: d.IntroducedBy,
		})
	}
	slices.SortFunc(out, func(a, b v1alpha1.SyncthingPeerStatus) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// checkPeers refuses what the schema cannot: the same device twice, or this device itself.
func checkPeers(peers []v1alpha1.SyncthingPeer, myID string) error {
	seen := map[string]bool{}
	for _, p := range peers {
		if seen[p.ID] {
			return fmt.Errorf("duplicate peer found in peer list: %s", p.ID)
		}
		seen[p.ID] = true
		if myID != "" && p.ID == myID {
			return fmt.Errorf("the peer list contains the node itself (%s)", p.ID)
		}
	}
	return nil
}
