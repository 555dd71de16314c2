# Reads the output of `go test -v` (packages run with -p print one after another) and prints,
# at the end, what each failed test printed, so that the tail of a long CI log says why a test
# failed. Output is attributed through go test's "=== RUN|CONT|NAME|PAUSE <test>" headers; a
# failed test's own lines are kept, at most MAX (default 120) of the last ones per test.
#   awk -f hack/test-failures.awk [-v MAX=200] go-test.log
function flush_pkg(   i, name, n, first, k) {
  for (i = 1; i <= nfailed; i++) {
    name = failed[i]
    n = count[name]
    if (n == 0) continue
    if (!printed_header) {
      print ""
      print "==================== what the failed tests printed ===================="
      printed_header = 1
    }
    print "---- " name " (" pkg ")"
    first = n > MAX ? n - MAX + 1 : 1
    if (first > 1) print "     [... " first - 1 " earlier lines left out]"
    for (k = first; k <= n; k++) print lines[name, k]
  }
  reset()
}
# reset forgets the package that ended.
function reset() {
  delete lines; delete count; delete failed; delete isfailed
  nfailed = 0; current = ""
}
BEGIN { if (MAX == "") MAX = 120; nfailed = 0; current = ""; printed_header = 0 }
/^=== (RUN|CONT|NAME|PAUSE) / { current = $3; next }
/^ *--- FAIL: / {
  name = $3
  if (!(name in isfailed)) { isfailed[name] = 1; failed[++nfailed] = name }
  next
}
/^ *--- (PASS|SKIP): / { next }
/^(ok|FAIL|---)[ \t]/ || /^(PASS|FAIL)$/ {
  if ($1 == "FAIL" && NF >= 2) { pkg = $2; flush_pkg() }
  else if ($1 == "ok") reset()
  next
}
current != "" { count[current]++; lines[current, count[current]] = $0 }
END {
  flush_pkg()
  if (printed_header) print "==================== end of the failed tests' output ===================="
}
