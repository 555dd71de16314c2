package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// PolicyTemplate logs only the controller's requests, once each (no RequestReceived stage), without
// bodies.
const PolicyTemplate = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: [%q]
- level: None
`

// auditEvent is the part of an audit.k8s.io/v1 Event the benchmark reads.
type auditEvent struct {
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
}

// Request is one API request of the controller (all stages of one auditID).
type Request struct {
	Verb     string
	Key      string // "verb resource[/subresource]" or "verb nonResource"
	Resource string // resource[/subresource], or nonResource
	Fixed    bool   // start-up cost that does not grow with N (see classify)
	Code     int    // response code, 0 if no stage reported one
	Received time.Time
}

// NonResource groups every request that has no objectRef (discovery, /version, /openapi, ...).
const NonResource = "nonResource"

// classify returns the resource label of a request and whether it is part of the fixed start-up
// cost: discovery and other non-resource URLs, watches, and cluster-wide lists (the informers'
// initial lists). Lists inside a namespace are what a reconcile does per object, so they are
// not fixed.
func classify(e *auditEvent) (resource string, fixed bool) {
	if e.ObjectRef == nil || e.ObjectRef.Resource == "" {
		return NonResource, true
	}
	resource = e.ObjectRef.Resource
	if e.ObjectRef.Subresource != "" {
		resource += "/" + e.ObjectRef.Subresource
	}
	switch e.Verb {
	case "watch":
		return resource, true
	case "list":
		return resource, e.ObjectRef.Namespace == ""
	}
	return resource, false
}

// Parse reads a JSON-lines audit log and returns user's requests, one per auditID, in the
// order they were received.
func Parse(r io.Reader, user string) ([]Request, error) {
	byID := map[string]*Request{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var e auditEvent
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w", line, err)
		}
		if e.User.Username != user {
			continue
		}
		req, seen := byID[e.AuditID]
		if !seen {
			res, fixed := classify(&e)
			req = &Request{Verb: e.Verb, Key: e.Verb + " " + res, Resource: res, Fixed: fixed, Received: e.RequestReceivedTimestamp}
			byID[e.AuditID] = req
			order = append(order, e.AuditID)
		}
		if e.ResponseStatus != nil && e.ResponseStatus.Code != 0 {
			req.Code = e.ResponseStatus.Code
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	out := make([]Request, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out, nil
}

// ParseFile is Parse of a file.
func ParseFile(path, user string) ([]Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return Parse(f, user)
}

// Row is one verb and resource in a table of requests.
type Row struct {
	Verb      string  `json:"verb"`
	Resource  string  `json:"resource"`
	Count     int     `json:"count"`
	PerObject float64 `json:"perObject"`
	Fixed     bool    `json:"fixed"`
	// Codes counts the response codes (0: none reported).
	Codes map[int]int `json:"codes"`
}

// Tally groups reqs by verb and resource, most frequent first.
func Tally(reqs []Request, n int) []Row {
	idx := map[string]int{}
	var rows []Row
	for _, r := range reqs {
		// A kind can be listed both cluster-wide (an informer) and in a namespace (a
		// reconcile): those are two rows.
		key := fmt.Sprintf("%s|%t", r.Key, r.Fixed)
		i, ok := idx[key]
		if !ok {
			i = len(rows)
			idx[key] = i
			rows = append(rows, Row{Verb: r.Verb, Resource: r.Resource, Fixed: r.Fixed, Codes: map[int]int{}})
		}
		rows[i].Count++
		rows[i].Codes[r.Code]++
	}
	for i := range rows {
		rows[i].PerObject = PerObject(rows[i].Count, n)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].Verb+rows[i].Resource < rows[j].Verb+rows[j].Resource
	})
	return rows
}

// PerObject is count / n (0 when n is 0).
func PerObject(count, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(count) / float64(n)
}

// Between returns the requests received after from and up to to (from may be the zero time).
func Between(reqs []Request, from, to time.Time) []Request {
	var out []Request
	for _, r := range reqs {
		if r.Received.After(from) && !r.Received.After(to) {
			out = append(out, r)
		}
	}
	return out
}
