package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/volsync-go/volsync/bench/scale/internal/audit"
)

// pf appends to a report (writes to a strings.Builder do not fail).
func pf(w *strings.Builder, format string, a ...any) {
	_, _ = fmt.Fprintf(w, format, a...)
}

// printResult writes the tables of one run as markdown.
func printResult(w *strings.Builder, r *Result) {
	pf(w, "\n### N = %d\n\n", r.N)
	pf(w, "| measure | value |\n|---|---|\n")
	pf(w, "| time until all %d Jobs exist | %.1f s |\n", r.N, r.SecondsToAllJobs)
	pf(w, "| API requests until then | %d (%.2f per object) |\n", r.Until.Total, r.Until.PerObject)
	pf(w, "| of which start-up (discovery, watches, cluster-wide lists) | %d |\n", r.Until.StartUp)
	pf(w, "| the others, per object | %.2f |\n", r.Until.PerObjectExStartUp)
	pf(w, "| tail: requests in the %.0f s after the last Job exists | %d (last at +%.1f s) |\n",
		r.Tail.Seconds, r.Tail.Requests, r.Tail.LastAfterSeconds)
	pf(w, "| per object until settled (until all Jobs exist + tail, without start-up) | %.2f |\n", r.Tail.PerObjectUntilSettled)
	pf(w, "| idle window (%.0f s after the tail): requests, excluding watches | %d (%.2f per second) |\n",
		r.Idle.WindowSeconds, r.Idle.Requests, r.Idle.PerSecond)
	pf(w, "| idle window: watch requests | %d |\n", r.Idle.Watches)
	pf(w, "| Job creates (whole run) | %d (%.3f per object), %s |\n", r.JobCreates, r.JobCreatesPerObject, codes(r.JobCreateCodes))
	pf(w, "| peak RSS (VmHWM) | %.1f MiB |\n", r.PeakRSSMiB)
	pf(w, "| controller requests, start to stop | %d |\n", r.TotalRequests)
	pf(w, "| controller log | %d lines, %d at level error |\n", r.ControllerLogLines, r.ControllerErrorLogs)
	pf(w, "| load average before the run | %s |\n", r.Load)

	pf(w, "\nRequests until all Jobs exist, by verb and resource:\n\n")
	printRows(w, r.Until.Rows)
	if len(r.Tail.Rows) > 0 {
		pf(w, "\nRequests in the tail (per object = count / N):\n\n")
		printRows(w, r.Tail.Rows)
	}
	if len(r.Idle.Rows) > 0 {
		pf(w, "\nRequests in the idle window (per object = count / N):\n\n")
		printRows(w, r.Idle.Rows)
	}
	if len(r.ErrorSamples) > 0 {
		pf(w, "\nMost frequent controller errors (digits replaced by N):\n\n| count | message |\n|---|---|\n")
		for _, s := range r.ErrorSamples {
			pf(w, "| %d | %s |\n", s.Count, strings.ReplaceAll(s.Message, "|", `\|`))
		}
	}
}

func printRows(w *strings.Builder, rows []audit.Row) {
	pf(w, "| verb | resource | count | per object | start-up | response codes |\n|---|---|---|---|---|---|\n")
	for _, row := range rows {
		fixed := ""
		if row.Fixed {
			fixed = "yes"
		}
		pf(w, "| %s | %s | %d | %.3f | %s | %s |\n", row.Verb, row.Resource, row.Count, row.PerObject, fixed, codeList(row.Codes))
	}
}

// codes renders response codes as "response codes 201: 2000, 409: 3".
func codes(m map[int]int) string {
	if len(m) == 0 {
		return "none"
	}
	return "response codes " + codeList(m)
}

// codeList renders response codes as "201: 2000, 409: 3".
func codeList(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// printSummary writes one row per N.
func printSummary(w *strings.Builder, rep *Report) {
	pf(w, "\n### Summary (%d CPUs, settle %.0f s, idle window %.0f s)\n\n", rep.CPUs, rep.Settle, rep.IdleWindow)
	pf(w, "| N | time until all Jobs exist (s) | requests until then | per object | start-up requests | others per object | per object until settled | idle req/s (excl. watches) | idle watches | peak RSS (MiB) | Job creates per object | Job creates 409 | controller error logs |\n")
	pf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Results {
		pf(w, "| %d | %.1f | %d | %.2f | %d | %.2f | %.2f | %.2f | %d | %.1f | %.3f | %d | %d |\n",
			r.N, r.SecondsToAllJobs, r.Until.Total, r.Until.PerObject, r.Until.StartUp, r.Until.PerObjectExStartUp,
			r.Tail.PerObjectUntilSettled, r.Idle.PerSecond, r.Idle.Watches, r.PeakRSSMiB, r.JobCreatesPerObject,
			r.JobCreateConflicts, r.ControllerErrorLogs)
	}
}
