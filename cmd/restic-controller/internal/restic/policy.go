package restic

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	resticcontract "github.com/volsync-go/volsync/images/contract/restic"
	"github.com/volsync-go/volsync/pkg/common/naming"
)

// DefaultPruneIntervalDays is the days between prunes when pruneIntervalDays is unset.
const DefaultPruneIntervalDays = 7

// Keys of the per-synchronization decisions frozen on the Job (jobmover.Side.Decisions).
const (
	// decisionUnlock is the spec.restic.unlock value the Job unlocks for (absent: no unlock).
	decisionUnlock = "unlock"
	// decisionPrune is "true" when the Job prunes.
	decisionPrune = "prune"
)

// sourceDecisions decides, when a source's Job is created, whether it unlocks the repository
// (spec.restic.unlock differs from status.restic.lastUnlocked) and prunes it
// (pruneIntervalDays have passed since the last prune, or since the object was created).
func sourceDecisions(spec *v1alpha1.ReplicationSourceResticSpec, st *v1alpha1.ReplicationSourceResticStatus,
	created, now time.Time) map[string]string {
	d := map[string]string{}
	if spec.Unlock != "" && (st == nil || st.LastUnlocked != spec.Unlock) {
		d[decisionUnlock] = spec.Unlock
	}
	if prune(spec.PruneIntervalDays, st, created, now) {
		d[decisionPrune] = "true"
	}
	return d
}

// prune reports whether a prune is due: the interval (pruneIntervalDays, default 7) has passed
// since the last prune or, before the first, since the object was created.
func prune(days *int32, st *v1alpha1.ReplicationSourceResticStatus, created, now time.Time) bool {
	last := created
	if st != nil && st.LastPruned != nil {
		last = st.LastPruned.Time
	}
	interval := time.Duration(ptr.Deref(days, DefaultPruneIntervalDays)) * 24 * time.Hour
	return now.After(last.Add(interval))
}

// sourceActions are the Job's arguments for decisions d.
func sourceActions(d map[string]string) []string {
	var args []string
	if d[decisionUnlock] != "" {
		args = append(args, resticcontract.ActionUnlock)
	}
	args = append(args, resticcontract.ActionBackup)
	if d[decisionPrune] == "true" {
		args = append(args, resticcontract.ActionPrune)
	}
	return args
}

// completedStatus is status.restic after a successful run made with decisions d, whose mover
// reported details. lastPruned moves only when the mover says it pruned (the reference
// re-evaluated the schedule at completion and recorded prunes that never ran); lastUnlocked
// takes the unlock value the run was made for, and is cleared when spec.restic.unlock is.
func completedStatus(prev *v1alpha1.ReplicationSourceResticStatus, unlock string, d, details map[string]string,
	now time.Time) *v1alpha1.ReplicationSourceResticStatus {
	st := &v1alpha1.ReplicationSourceResticStatus{}
	if prev != nil {
		st = prev.DeepCopy()
	}
	switch {
	case d[decisionUnlock] != "":
		st.LastUnlocked = d[decisionUnlock]
	case unlock == "":
		st.LastUnlocked = ""
	}
	if details[resticcontract.DetailPruned] == "true" {
		st.LastPruned = &metav1.Time{Time: now}
	}
	if st.LastPruned == nil && st.LastUnlocked == "" {
		return nil
	}
	return st
}

// forgetOptions are the `restic forget` options of a retention policy, in the reference's
// order; no policy keeps the last snapshot.
func forgetOptions(r *v1alpha1.ResticRetainPolicy) string {
	if r == nil {
		return "--keep-last 1"
	}
	var opts []string
	for _, o := range []struct {
		flag string
		n    *int32
	}{{"hourly", r.Hourly}, {"daily", r.Daily}, {"weekly", r.Weekly}, {"monthly", r.Monthly}, {"yearly", r.Yearly}} {
		if o.n != nil {
			opts = append(opts, "--keep-"+o.flag, strconv.Itoa(int(*o.n)))
		}
	}
	if r.Within != nil {
		opts = append(opts, "--keep-within", within(*r.Within))
	}
	if r.Last != nil {
		opts = append(opts, "--keep-last", r.Last.String())
	}
	if len(opts) == 0 {
		return "--keep-last 1"
	}
	return strings.Join(opts, " ")
}

// lockHost is the host name of an object's mover pods, which restic records in its locks:
// the same for every pod of the object (and direction), different for any other object.
func lockHost(role naming.Role, namespace, name string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + name + "/" + role.Abbrev()))
	return resticcontract.LockHostPrefix + role.Abbrev() + "-" + hex.EncodeToString(sum[:])[:16]
}

// within is a keep-within duration as restic reads it: restic knows years, months, days and
// hours (y, m, d, h), not the weeks the reference's documentation uses ("3w15h"), which the
// CRD accepts and which become days here. Units keep their order; weeks join the days.
func within(d string) string {
	var out strings.Builder
	weeks, days, dayPos := 0, 0, -1
	n := 0
	for _, r := range d {
		switch {
		case r >= '0' && r <= '9':
			n = n*10 + int(r-'0')
			continue
		case r == 'w':
			weeks += n
		case r == 'd':
			days += n
		default:
			out.WriteString(strconv.Itoa(n) + string(r))
			n = 0
			continue
		}
		if dayPos < 0 {
			dayPos = out.Len()
		}
		n = 0
	}
	if dayPos < 0 {
		return out.String()
	}
	s := out.String()
	return s[:dayPos] + strconv.Itoa(7*weeks+days) + "d" + s[dayPos:]
}
