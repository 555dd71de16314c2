//go:build e2e

package rclone

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/scenario"
)

// noDataYet is what a destination says while its remote path holds nothing from a source.
const noDataYet = "no data from a source yet"

// destinationBeforeSource: a destination created before any source wrote its path (the
// bucket exists, the path does not) waits, saying so, without reporting an error or taking an
// image; once the source has synchronized and the destination is triggered again, it
// completes with the source's data.
func destinationBeforeSource(t *testing.T) {
	srcNS := namespace(t, "early-src", false, plain)
	dstNS := namespace(t, "early-dst", false, plain)
	want := fill(t, srcNS, "SMALL_FILES=50 BIG_MB=1 ")
	plain.CreateBucket(t, "early")
	const path = "early/data"

	rd := dst{newDestination(dstNS, "dst", path, "n1")}
	create(t, rd.ReplicationDestination)
	ctx := cluster.Ctx(t, syncTimeout)
	cluster.Eventually(t, syncTimeout, "the destination to report that no source wrote yet", func() error {
		if err := cluster.C.Get(ctx, client.ObjectKeyFromObject(rd.ReplicationDestination), rd.ReplicationDestination); err != nil {
			return err
		}
		st := rd.common()
		c := scenario.Condition(st)
		switch {
		case c == nil:
			return errors.New("no condition yet")
		case c.Reason == v1alpha1.SynchronizingReasonError:
			t.Fatalf("an empty remote path is reported as an error: %s", scenario.Describe(st))
		case c.Reason != v1alpha1.SynchronizingReasonSync || !strings.Contains(c.Message, noDataYet):
			return fmt.Errorf("want reason %s with %q, have %s", v1alpha1.SynchronizingReasonSync, noDataYet, scenario.Describe(st))
		}
		return nil
	})
	t.Logf("destination waits: %s", scenario.Describe(rd.common()))
	if st := rd.common(); st.LastManualSync != "" || rd.Status.LatestImage != nil || st.LastSyncTime != nil {
		t.Fatalf("a destination without data recorded a sync: lastManualSync %q, latestImage %+v, lastSyncTime %v",
			st.LastManualSync, rd.Status.LatestImage, st.LastSyncTime)
	}

	rs := src{newSource(srcNS, "src", "data", path, v1alpha1.CopyMethodClone, "s1")}
	create(t, rs.ReplicationSource)
	waitSynced(t, rs, "s1")
	trigger(t, rd, "n2")
	waitSynced(t, rd, "n2")
	if c := scenario.Condition(rd.common()); c != nil && strings.Contains(c.Message, noDataYet) {
		t.Errorf("the condition still says %q after a sync: %s", noDataYet, c.Message)
	}
	expectRestored(t, rd.ReplicationDestination, "restore", want, "destination created before the source")
}
