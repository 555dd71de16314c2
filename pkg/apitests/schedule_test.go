package apitests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/trigger"
)

const scheduleNamespace = "schedules"

// Fragments the generated schedules are built from: ordinary values, the edges, and the forms
// the pattern lets through that robfig/cron rejects or that never fire (reversed ranges, days
// of month missing from the months given).
var (
	minuteParts = []string{"*", "*/15", "0", "59", "07", "30-10", "10-30", "5/15", "0-30/10", "0,30", "45-50/2", "50-5", "*/999", "59-59"}
	hourParts   = []string{"*", "0", "23", "22-2", "2-22", "*/6", "9-17", "20-5/2", "0,12", "12-12"}
	domParts    = []string{"*", "?", "1", "15", "29", "30", "31", "30,31", "30-31", "31/5", "1-31/7", "31-1", "*/10", "30/1", "28-30", "3", "31,30", "30-30"}
	monthParts  = []string{"*", "2", "feb", "FEB", "4", "4,6,9,11", "apr-jun/2", "2/12", "dec-jan", "jan-dec", "*/2", "9-11/2",
		"2,feb", "11", "6-4", "1-12/12", "4/5", "Feb-Feb", "6/3", "nov-sep", "02", "*/1"}
	dowParts = []string{"*", "?", "*/1", "?/1", "mon", "0", "1-5", "fri-mon", "sun-sat", "*/2", "6", "sat-sun", "5-1", "*,1"}
	oddities = []string{"@daily", "@hourly", "@yearly", "@midnight", "@every 1h", "", " ", "0 0 * * * *", "0 0 * *",
		"0 24 * * *", "*/0 * * * *", "TZ=UTC 0 0 * * *", "0 0 32 * *", "0 0 * 13 *", "0 0 * * 7", "*/1000 * * * *"}
)

// pick returns a random element of parts, sometimes joined with a second one by a comma.
func pick(r *rand.Rand, parts []string) string {
	p := parts[r.IntN(len(parts))]
	if r.IntN(6) == 0 {
		p += "," + parts[r.IntN(len(parts))]
	}
	return p
}

// generatedSchedules returns n distinct expressions, the same ones on every run.
func generatedSchedules(n int) []string {
	r := rand.New(rand.NewPCG(8, 2026))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var expr string
		switch r.IntN(20) {
		case 0:
			expr = oddities[r.IntN(len(oddities))]
		default:
			fields := []string{pick(r, minuteParts), pick(r, hourParts), pick(r, domParts), pick(r, monthParts), pick(r, dowParts)}
			sep := " "
			if r.IntN(10) == 0 {
				sep = "\t"
			}
			expr = strings.Join(fields, sep)
			if r.IntN(15) == 0 {
				expr = " " + expr + " "
			}
		}
		if !seen[expr] {
			seen[expr] = true
			out = append(out, expr)
		}
	}
	return out
}

var scheduleObjects atomic.Int64

// admission creates (dry run: nothing is stored) a ReplicationSource with the schedule and
// returns the API server's verdict: nil when admitted, else the validation error.
func admission(ctx context.Context, t testing.TB, expr string) error {
	t.Helper()
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Namespace: scheduleNamespace, Name: fmt.Sprintf("schedule-%d", scheduleObjects.Add(1))},
		Spec: v1alpha1.ReplicationSourceSpec{
			SourcePVC: "data", Trigger: &v1alpha1.TriggerSpec{Schedule: &expr}, RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{},
		},
	}
	err := env.Client.Create(ctx, rs, client.DryRunAll)
	if err != nil && !apierrors.IsInvalid(err) {
		t.Fatalf("creating a ReplicationSource with schedule %q: %v", expr, err)
	}
	return err
}

// checkAgreement fails when the API server and trigger.ParseSchedule disagree on expr, and
// returns whether it was admitted and the API server's error.
func checkAgreement(ctx context.Context, t testing.TB, expr string) (bool, error) {
	t.Helper()
	apiErr := admission(ctx, t, expr)
	_, parseErr := trigger.ParseSchedule(expr)
	if (apiErr == nil) != (parseErr == nil) {
		t.Errorf("schedule %q: API server admits=%v (%v), ParseSchedule accepts=%v (%v)",
			expr, apiErr == nil, apiErr, parseErr == nil, parseErr)
	}
	return apiErr == nil, apiErr
}

// TestScheduleAdmissionAgreesWithParser: every schedule the CRD admits, the controller can
// evaluate, and the other way round; otherwise an object would be accepted at kubectl apply
// and fail at run time. A few hundred generated expressions, checked against the real API
// server.
func TestScheduleAdmissionAgreesWithParser(t *testing.T) {
	ctx := testContext(t)
	ensureNamespace(ctx, t, scheduleNamespace)
	exprs := generatedSchedules(400)
	admitted, reversed, never := 0, 0, 0
	for _, expr := range exprs {
		ok, err := checkAgreement(ctx, t, expr)
		switch {
		case ok:
			admitted++
		case strings.Contains(err.Error(), "range whose start is after its end"):
			reversed++
		case strings.Contains(err.Error(), "schedule never fires"):
			never++
		}
	}
	// The table must exercise both verdicts and both CEL rules.
	if admitted < len(exprs)/4 || admitted > len(exprs)*3/4 || reversed < 20 || never < 5 {
		t.Errorf("unbalanced table: %d of %d admitted, %d reversed ranges, %d never firing", admitted, len(exprs), reversed, never)
	}
}

// FuzzScheduleAdmission feeds the same expression to the API server and to
// trigger.ParseSchedule; they must agree. Plain `go test` runs the seeds; fuzz with
// `go test ./apitests -run '^$' -fuzz FuzzScheduleAdmission -parallel 1` (each fuzz worker
// starts its own control plane).
func FuzzScheduleAdmission(f *testing.F) {
	for _, seed := range []string{
		"30-10 * * * *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30 2 mon", "0 0 30,1 2 *", "0 0 31 apr-jun/2 *",
		"0 0 31 1-12/2 *", "0 0 * dec-jan *", "0 0 * * fri-mon", "0 20-5 * * *", "*/99999999999999999999 * * * *",
		"*/999 * * * *", "@daily", "@midnight", "0 0 29 feb *", "0 0 30 2/12 *", "0 0 31 4/5 ?", "0 0 31 4/5 ?/1",
		"0 0 31 4/5 *,1", " 0 0 1 * * ", "0\t0 1 * *", "0 0 * * 7", "", "x",
	} {
		f.Add(seed)
	}
	for _, seed := range generatedSchedules(40) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		ctx := testContext(t)
		ensureNamespace(ctx, t, scheduleNamespace)
		_, _ = checkAgreement(ctx, t, expr) // it reports a disagreement itself
	})
}
