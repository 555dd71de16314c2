// Package trigger decides when a ReplicationSource or ReplicationDestination synchronizes.
//
// It is pure: no Kubernetes client and no clock; every function is given the time to judge.
// The semantics, and where they deliberately differ from the reference implementation:
//
//   - Kind: a non-empty manual wins over a schedule; a non-blank schedule is Schedule; otherwise
//     the object synchronizes back to back (Always).
//   - First synchronization: an object that has never completed one (no lastSyncTime) starts
//     one immediately, whatever its trigger, as the reference does and users rely on.
//   - Manual: synchronize when spec.trigger.manual differs from status.lastManualSync. The
//     caller records the manual value at the start of a synchronization and stores it in
//     lastManualSync on completion, so a value changed mid-sync causes another synchronization
//     (the reference copied the value at completion and silently absorbed the change).
//   - Schedule: nextSyncTime is the first slot strictly after lastSyncTime (the completion
//     time), recomputed on every decision so a schedule edited while idle takes effect at once.
//     A synchronization is due when now >= nextSyncTime (the reference used now.After, which
//     made a reconcile landing exactly on the slot wait a whole interval).
//   - Missed interval: a synchronization must complete before the slot after the next one,
//     Next(Next(lastSyncTime)); completing at or after it means a slot was skipped. The caller
//     evaluates it at every reconcile for the out-of-sync gauge and once per completion, with
//     the previous lastSyncTime, for the missed-intervals counter.
//   - Time zones: slots are computed in the location the caller passes (the controller's time
//     zone). Across DST transitions robfig/cron skips wall-clock times that do not exist
//     (spring forward) and repeats those that occur twice (fall back); hourly schedules keep
//     firing once per elapsed hour. UTC has neither effect.
//   - Schedules are validated exactly as the CRD admits them: v1alpha1.SchedulePattern and
//     ScheduleMaxLength, plus what the pattern cannot express (reversed ranges, schedules that
//     never fire), which the CRD checks with CEL rules; CRON_TZ=/TZ= prefixes, @every and
//     @midnight are rejected. pkg/apitests checks the API server and ParseSchedule agree.
//   - Paused objects are the caller's concern: this package never sees spec.paused.
package trigger
