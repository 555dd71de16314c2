package audit

import (
	"strings"
	"testing"
	"time"
)

// logLines is an audit log with two stages of one watch, a namespaced list, a cluster-wide
// list, a discovery request, a Job create that conflicts and another user's request.
const logLines = `{"auditID":"w","stage":"ResponseStarted","verb":"watch","user":{"username":"ctl"},"objectRef":{"resource":"jobs","apiGroup":"batch"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:01.000000Z"}
{"auditID":"l1","stage":"ResponseComplete","verb":"list","user":{"username":"ctl"},"objectRef":{"resource":"pods"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:02.000000Z"}
{"auditID":"l2","stage":"ResponseComplete","verb":"list","user":{"username":"ctl"},"objectRef":{"resource":"pods","namespace":"bench"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:03.000000Z"}
{"auditID":"d","stage":"ResponseComplete","verb":"get","user":{"username":"ctl"},"requestURI":"/apis","responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:00.500000Z"}
{"auditID":"c","stage":"ResponseComplete","verb":"create","user":{"username":"ctl"},"objectRef":{"resource":"jobs","namespace":"bench"},"responseStatus":{"code":409},"requestReceivedTimestamp":"2026-01-01T00:00:04.000000Z"}
{"auditID":"s","stage":"ResponseComplete","verb":"patch","user":{"username":"ctl"},"objectRef":{"resource":"replicationsources","subresource":"status","namespace":"bench"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:05.000000Z"}
{"auditID":"o","stage":"ResponseComplete","verb":"get","user":{"username":"admin"},"objectRef":{"resource":"jobs","namespace":"bench"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:04.000000Z"}
{"auditID":"w","stage":"ResponseComplete","verb":"watch","user":{"username":"ctl"},"objectRef":{"resource":"jobs","apiGroup":"batch"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-01T00:00:01.000000Z"}
`

func TestParseAndTally(t *testing.T) {
	reqs, err := Parse(strings.NewReader(logLines), "ctl")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range reqs {
		keys = append(keys, r.Key)
	}
	want := "get nonResource,watch jobs,list pods,list pods,create jobs,patch replicationsources/status"
	if got := strings.Join(keys, ","); got != want {
		t.Fatalf("requests in order: got %s, want %s", got, want)
	}
	fixed := map[string]bool{}
	for _, r := range reqs {
		fixed[r.Key+"@"+r.Received.Format("05")] = r.Fixed
	}
	for key, want := range map[string]bool{
		"get nonResource@00": true, "watch jobs@01": true, "list pods@02": true,
		"list pods@03": false, "create jobs@04": false, "patch replicationsources/status@05": false,
	} {
		if fixed[key] != want {
			t.Errorf("%s: fixed %v, want %v", key, fixed[key], want)
		}
	}
	if reqs[4].Code != 409 {
		t.Errorf("create jobs: code %d, want 409", reqs[4].Code)
	}

	rows := Tally(reqs, 2)
	if len(rows) != 6 {
		t.Fatalf("rows: got %d (%+v), want 6: the two lists of pods differ in scope", len(rows), rows)
	}
	for _, r := range rows {
		if r.Count != 1 || r.PerObject != 0.5 {
			t.Errorf("row %+v: want count 1, per object 0.5", r)
		}
		if r.Verb == "create" && r.Codes[409] != 1 {
			t.Errorf("row %+v: want one 409", r)
		}
	}

	from := time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC)
	to := time.Date(2026, 1, 1, 0, 0, 4, 0, time.UTC)
	if got := len(Between(reqs, from, to)); got != 2 {
		t.Errorf("Between(00:02, 00:04]: got %d requests, want 2", got)
	}
	if got := len(Between(reqs, time.Time{}, to)); got != 5 {
		t.Errorf("Between(start, 00:04]: got %d requests, want 5", got)
	}
}
