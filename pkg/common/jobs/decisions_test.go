package jobs

import (
	"strconv"
	"testing"
)

// TestDecisionsFrozenWhileTheJobExists: a decision taken when the Job was created (here
// "prune", which a clock would flip) is what later reconciles get back, so the running Job's
// pod does not change and the Job is not replaced; once the Job is gone, decide runs again.
func TestDecisionsFrozenWhileTheJobExists(t *testing.T) {
	f := newAPIFixture(t)
	calls := 0
	due := true
	decide := func() (map[string]string, error) {
		calls++
		return map[string]string{"prune": strconv.FormatBool(due)}, nil
	}
	specWith := func(d map[string]string) Spec {
		s := f.spec()
		s.Args = []string{"backup", "--prune=" + d["prune"]}
		s.Decisions = d
		return s
	}
	d, err := f.runner.Decisions(f.ctx, f.ns, f.spec().Name, decide)
	if err != nil || d["prune"] != "true" || calls != 1 {
		t.Fatalf("no Job yet: decisions %v, err %v, decide called %d times", d, err, calls)
	}
	f.run(specWith(d))
	created := f.job(f.spec().Name)
	if created.Annotations[DecisionsAnnotation] != `{"prune":"true"}` {
		t.Fatalf("decisions not stored on the Job: %v", created.Annotations)
	}

	due = false // time passed: deciding now would say otherwise
	f.eventually("the cached Job's decisions", func() error {
		d, err = f.runner.Decisions(f.ctx, f.ns, f.spec().Name, decide)
		if err != nil {
			return err
		}
		if d["prune"] != "true" {
			return errFrozen(d)
		}
		return nil
	})
	f.run(specWith(d))
	if again := f.job(f.spec().Name); again.UID != created.UID {
		t.Fatal("the running Job was replaced although its decisions were frozen")
	}
	if calls != 1 {
		t.Fatalf("decide ran %d times while the Job existed", calls)
	}
}

type errFrozen map[string]string

func (e errFrozen) Error() string { return "decisions not frozen yet: " + e["prune"] }
