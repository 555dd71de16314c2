package trigger

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/volsync-go/volsync/api/v1alpha1"
)

// scheduleCorpus holds expressions with whether ParseSchedule accepts them. It seeds
// FuzzParseSchedule too.
var scheduleCorpus = []struct {
	expr  string
	valid bool
}{
	// Accepted.
	{"@hourly", true}, {"@daily", true}, {"@weekly", true}, {"@monthly", true}, {"@yearly", true},
	{"@annually", true}, {"  @daily  ", true}, {"* * * * *", true}, {"0 * * * *", true},
	{"*/15 * * * *", true}, {"0-30/10 1-5 * * *", true}, {"5 4 * * *", true}, {"00 00 * * *", true},
	{"0 0 1,15 * *", true}, {"0 0 1 */3 *", true}, {"0 12 * * SUN", true}, {"0 9 * jan-mar mon-fri", true},
	{"0 9 1 Feb,Aug *", true}, {"0 0 29 feb *", true}, {"0 0 13 * fri", true}, {"0 6 ? * ?", true},
	{"5 4\t* * *", true}, {"59 23 31 12 6", true}, {"0,30 */2 * * 1-5", true}, {"50/5 * * * *", true},
	{"1-59/2 0-23/3 1-31/7 1-12/5 0-6/2", true}, {"0 0 * JAN-DEC/2 *", true}, {"*/100 * * * *", true},
	{" 0 0 * * *", true},
	// Rejected by both the pattern and the parser.
	{"", false}, {"   ", false}, {"61 * * * *", false}, {"0 24 * * *", false}, {"0 0 0 * *", false},
	{"0 0 32 * *", false}, {"0 0 * 13 *", false}, {"0 0 * * 7", false}, {"*/0 * * * *", false},
	{"0 0 * * * *", false}, {"* * * *", false}, {"0 0 * foo *", false}, {"@fortnightly", false},
	{"@DAILY", false}, {"@every 1h", false}, {"@midnight", false}, {"CRON_TZ=UTC 0 * * * *", false},
	{"TZ=Europe/Paris 0 * * * *", false}, {"TZ=", false}, {"-1 * * * *", false}, {"1-2-3 * * * *", false},
	{"1/2/3 * * * *", false}, {"0 0 * mon *", false}, {"0 0 * * jan", false},
	{"*/99999999999999999999 * * * *", false}, {"*/1000 * * * *", false},
	// Rejected by the pattern although robfig/cron accepts them.
	{"? * * * *", false}, {"0 ? * * *", false}, {"1,,2 * * * *", false}, {"\t0 * * * *", false},
	{"0 * * * *\n", false}, {"000 * * * *", false}, {"0 0 * * 0-6,", false}, {"0 0 * ? *", false},
	// Known gap: the pattern accepts them, ParseSchedule rejects them (see patternGaps).
	{"30-10 * * * *", false}, {"0 20-5 * * *", false}, {"0 0 * dec-jan *", false}, {"0 0 * * fri-mon", false},
	{"0 0 30 2 *", false}, {"0 0 31 4,6,9,11 *", false}, {tooLong, false},
	// Odd but valid: the last step the pattern allows, a day missing in February widened by
	// a day of week (either matches).
	{"*/999 * * * *", true}, {"0 0 30 2 mon", true},
}

// tooLong is a valid expression longer than the CRD's MaxLength.
var tooLong = "0" + strings.Repeat(",0", v1alpha1.ScheduleMaxLength/2) + " * * * *"

// patternGaps are the expressions the CRD pattern lets through but ParseSchedule rejects: a
// regular expression cannot order the two ends of a range, know month lengths or count
// characters. The CRD closes these gaps with its CEL rules and MaxLength (pkg/apitests checks
// the API server and ParseSchedule agree); the pattern alone does not.
var patternGaps = map[string]bool{
	"30-10 * * * *":     true, // reversed minute range
	"0 20-5 * * *":      true, // reversed hour range
	"0 0 * dec-jan *":   true, // reversed month-name range
	"0 0 * * fri-mon":   true, // reversed day-name range
	"0 0 30 2 *":        true, // 30 February never comes
	"0 0 31 4,6,9,11 *": true, // those months have 30 days
	tooLong:             true, // longer than MaxLength
}

func TestPatternAgreesWithParseSchedule(t *testing.T) {
	pattern := regexp.MustCompile(v1alpha1.SchedulePattern)
	if len(scheduleCorpus) < 60 {
		t.Errorf("corpus has %d expressions, want at least 60", len(scheduleCorpus))
	}
	gaps := 0
	for _, c := range scheduleCorpus {
		_, err := ParseSchedule(c.expr)
		parsed := err == nil
		if parsed != c.valid {
			t.Errorf("ParseSchedule(%q) error = %v, want valid=%v", c.expr, err, c.valid)
		}
		matched := pattern.MatchString(c.expr)
		if patternGaps[c.expr] {
			gaps++
			if !matched || parsed {
				t.Errorf("%q is listed as a pattern gap but pattern=%v parser=%v", c.expr, matched, parsed)
			}
			continue
		}
		if matched != parsed {
			t.Errorf("%q: pattern=%v but ParseSchedule=%v (%v); list it in patternGaps if intended", c.expr, matched, parsed, err)
		}
	}
	if gaps != len(patternGaps) {
		t.Errorf("%d of %d pattern gaps are in the corpus", gaps, len(patternGaps))
	}
}

// FuzzParseSchedule checks that ParseSchedule never panics, never accepts what the CRD
// pattern rejects, and rejects with ErrInvalidSchedule; and that where the pattern and the
// raw robfig/cron parser both accept, ParseSchedule accepts too unless the schedule never fires.
func FuzzParseSchedule(f *testing.F) {
	for _, c := range scheduleCorpus {
		f.Add(c.expr)
	}
	pattern := regexp.MustCompile(v1alpha1.SchedulePattern)
	f.Fuzz(func(t *testing.T, expr string) {
		sched, err := ParseSchedule(expr)
		matched := pattern.MatchString(expr)
		if err != nil {
			if !errors.Is(err, ErrInvalidSchedule) {
				t.Fatalf("ParseSchedule(%q) error %v does not wrap ErrInvalidSchedule", expr, err)
			}
		} else {
			if !matched {
				t.Fatalf("ParseSchedule(%q) accepted what the CRD pattern rejects", expr)
			}
			if n := sched.Next(neverFiresProbe); n.IsZero() || !n.After(neverFiresProbe) {
				t.Fatalf("ParseSchedule(%q) accepted a schedule with no next slot (%s)", expr, n)
			}
			return
		}
		spec := strings.Trim(expr, " ")
		if !matched || len(expr) > v1alpha1.ScheduleMaxLength || strings.HasPrefix(spec, tzPrefix) || strings.HasPrefix(spec, cronTZPrefix) {
			return // the raw parser panics on some time-zone forms
		}
		raw, rawErr := parser.Parse(spec)
		if rawErr == nil && !raw.Next(neverFiresProbe).IsZero() {
			t.Fatalf("ParseSchedule(%q) rejected what the pattern and robfig/cron accept: %v", expr, err)
		}
	})
}
