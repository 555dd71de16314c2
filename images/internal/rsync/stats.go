package rsync

import (
	"regexp"
	"strconv"
	"strings"
)

// Stats are the numbers a result reports, from rsync --stats.
type Stats struct {
	BytesSent        int64
	FilesTransferred int64
	seen             int
}

var statLine = regexp.MustCompile(`^(Total bytes sent|Number of regular files transferred): ([0-9][0-9,.]*)`)

// Parse reads one line of rsync's output and keeps the numbers it knows.
func (s *Stats) Parse(line string) bool {
	m := statLine.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	n, err := strconv.ParseInt(strings.NewReplacer(",", "", ".", "").Replace(m[2]), 10, 64)
	if err != nil {
		return false
	}
	switch m[1] {
	case "Total bytes sent":
		s.BytesSent = n
	case "Number of regular files transferred":
		s.FilesTransferred = n
	}
	s.seen++
	return true
}

// Complete reports whether both numbers were printed.
func (s *Stats) Complete() bool { return s.seen >= 2 }

// IsStatsLine reports a line of rsync's --stats block (logged even without debug).
func IsStatsLine(line string) bool {
	return strings.HasPrefix(line, "Number of ") || strings.HasPrefix(line, "Total ") || strings.HasPrefix(line, "sent ")
}
