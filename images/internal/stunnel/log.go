package stunnel

import (
	"regexp"
	"strconv"
	"strings"
)

// Line is one parsed stunnel log line.
type Line struct {
	// Level is the syslog level (3 error, 5 notice, 6 info, 7 debug).
	Level int
	// Thread is "ui", "cron" or a connection number.
	Thread string
	Msg    string
}

// Before its log is set up (and when start-up fails) stunnel prints "[!] error", "[.] notice"
// and "[ ] debug" lines.
var (
	logLine   = regexp.MustCompile(`LOG(\d)\[([^\]]*)\]: (.*)$`)
	earlyLine = regexp.MustCompile(`^\[([!. ])\] (.*)$`)
	errnoTail = regexp.MustCompile(`: [^:]+ \(\d+\)$`)
)

// ParseLine parses a line of stunnel's log output.
func ParseLine(s string) (Line, bool) {
	if m := logLine.FindStringSubmatch(s); m != nil {
		lvl, _ := strconv.Atoi(m[1])
		return Line{Level: lvl, Thread: m[2], Msg: m[3]}, true
	}
	if m := earlyLine.FindStringSubmatch(s); m != nil {
		lvl := map[string]int{"!": 3, ".": 5, " ": 7}[m[1]]
		return Line{Level: lvl, Thread: "ui", Msg: m[2]}, true
	}
	return Line{}, false
}

// IsConnection reports whether the line belongs to a connection (not the main or cron thread).
func (l Line) IsConnection() bool { return l.Thread != "ui" && l.Thread != "cron" && l.Thread != "" }

// Accepted reports a new connection and returns the peer address.
func (l Line) Accepted() (peer string, ok bool) {
	const marker = "accepted connection from "
	if i := strings.Index(l.Msg, marker); i >= 0 && l.IsConnection() {
		return l.Msg[i+len(marker):], true
	}
	return "", false
}

// Closed reports the end of a connection: stunnel's "Connection closed/reset: N byte(s) ..." line,
// logged after the last byte was forwarded.
func (l Line) Closed() bool {
	return l.IsConnection() && strings.HasPrefix(l.Msg, "Connection ") && strings.Contains(l.Msg, "byte(s) sent to TLS")
}

// HandshakeFailed reports a failed TLS handshake; with PSK-only TLS that is almost always a
// key or identity mismatch, or a peer that does not speak TLS.
func (l Line) HandshakeFailed() bool {
	return l.Level <= 4 && (strings.HasPrefix(l.Msg, "SSL_accept:") || strings.HasPrefix(l.Msg, "SSL_connect:"))
}

// ConnectFailed reports a failed TCP connect or name resolution of the remote end.
func (l Line) ConnectFailed() bool {
	if l.Level > 4 {
		return false
	}
	for _, p := range []string{"s_connect: ", "No more addresses to connect", "Error resolving", "No remote host resolved", "getaddrinfo"} {
		if strings.HasPrefix(l.Msg, p) {
			return true
		}
	}
	return false
}

// Bound reports that the listening socket is open.
func (l Line) Bound() bool { return l.Thread == "ui" && strings.Contains(l.Msg, ") bound to ") }

// IsError reports an error-level line.
func (l Line) IsError() bool { return l.Level <= 3 }

// Harmless reports error-level lines stunnel prints in normal operation: PSK-only configurations
// have no CA, and TIMEOUTclose = 0 ends every connection without waiting for close_notify.
func (l Line) Harmless() bool {
	return l.Msg == "No trusted certificates found" || strings.HasSuffix(l.Msg, "TIMEOUTclose exceeded: closing")
}

// SystemError reports a main-thread line that ends with a system error, such as
// "Binding service [rsync] to :::8000: Address already in use (98)": the cause behind the
// generic error line that follows it.
func (l Line) SystemError() bool {
	return l.Thread == "ui" && l.Level <= 5 && errnoTail.MatchString(l.Msg)
}
