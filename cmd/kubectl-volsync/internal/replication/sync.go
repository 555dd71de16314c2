package replication

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/kube"
	"github.com/volsync-go/volsync/cmd/kubectl-volsync/internal/relationship"
)

// Sync runs one synchronization now: the source gets a new manual trigger (replacing a
// schedule, as in the reference; "schedule" brings the schedule back), the relationship is
// applied, and Sync waits up to timeout for the source to complete it and the destination to
// record it. A synchronization that reports Error fails Sync with the condition's message.
func Sync(ctx context.Context, e Env, name string, timeout time.Duration) error {
	f, d, err := relationship.LoadReplication(e.ConfigDir, name)
	if err != nil {
		return err
	}
	if d.Source == nil {
		return ErrNoSource
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	manual := now().UTC().Format(time.RFC3339Nano)
	d.Source.Trigger = relationship.Trigger{Manual: manual}
	a, err := Apply(ctx, e, f, d)
	if err != nil {
		return err
	}
	if err := relationship.SaveReplication(f, d); err != nil {
		return err
	}
	e.printf("waiting for the synchronization %q of %s/%s to complete (timeout %s)\n", manual, a.Source.Namespace, a.Source.Name, timeout)
	start := time.Now()
	rs, err := WaitSynced(ctx, e, a.Client, a.Source, manual, timeout)
	if err != nil {
		return err
	}
	if err := waitDestination(ctx, e, a, rs, timeout-time.Since(start)); err != nil {
		return err
	}
	took := ""
	if rs.Status.LastSyncDuration != nil {
		took = " in " + rs.Status.LastSyncDuration.Duration.Round(time.Second).String()
	}
	e.printf("synchronization completed%s\n", took)
	return nil
}

// WaitSynced waits until rs has completed the synchronization of manual trigger value
// manual, and returns it. An Error condition observed since rs's current generation ends the
// wait with the condition's message.
func WaitSynced(ctx context.Context, e Env, c client.Client, rs *v1alpha1.ReplicationSource, manual string, timeout time.Duration) (*v1alpha1.ReplicationSource, error) {
	gen := rs.Generation
	key := client.ObjectKeyFromObject(rs)
	err := e.poller().Wait(ctx, timeout, "the synchronization of "+key.String(), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, key, rs); err != nil {
			return false, "", err
		}
		var st *v1alpha1.CommonStatus
		if rs.Status != nil {
			st = &rs.Status.CommonStatus
		}
		if st != nil && st.LastManualSync == manual {
			return true, "", nil
		}
		if msg := kube.FailedSince(st, gen); msg != "" {
			return false, "", kube.Permanent{Err: fmt.Errorf("%w: ReplicationSource %s: %s", ErrSyncFailed, key, msg)}
		}
		return false, kube.Describe(st), nil
	})
	return rs, err
}

// waitDestination waits until the destination has recorded the synchronization rs just
// completed (its image is made), so that "sync" returns with the data usable there. The
// destination records the end of a synchronization only when a source finishes one, so a
// completion at or after the start of rs's synchronization is this one's.
func waitDestination(ctx context.Context, e Env, a *Applied, rs *v1alpha1.ReplicationSource, timeout time.Duration) error {
	st := rs.Status
	if st == nil || st.LastSyncTime == nil {
		return nil
	}
	begin := st.LastSyncTime.Time
	if st.LastSyncDuration != nil {
		begin = begin.Add(-st.LastSyncDuration.Duration)
	}
	rd := a.Destination
	key := client.ObjectKeyFromObject(rd)
	return e.poller().Wait(ctx, max(timeout, time.Minute), "destination "+key.String()+" to record the synchronization", func(ctx context.Context) (bool, string, error) {
		if err := a.DstClient.Get(ctx, key, rd); err != nil {
			return false, "", err
		}
		if rd.Status == nil {
			return false, "no status yet", nil
		}
		if t := rd.Status.LastSyncTime; t != nil && !t.Time.Before(begin.Add(-time.Second)) {
			return true, "", nil
		}
		return false, kube.Describe(&rd.Status.CommonStatus), nil
	})
}
