package stunnel

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

const (
	// TLSVersion is the only protocol version offered or accepted.
	TLSVersion = "TLSv1.3"
	// Ciphersuites are the TLS 1.3 suites offered, strongest first.
	Ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
	// ConnectTimeoutSeconds bounds one TCP connect to the destination.
	ConnectTimeoutSeconds = 10
	// KeepaliveIdleSeconds is the idle time before TCP keepalive probes start, so load balancers
	// and NAT keep a connection that is quiet while rsync scans a large tree.
	KeepaliveIdleSeconds = 180
	// KeepaliveIntervalSeconds is the time between keepalive probes.
	KeepaliveIntervalSeconds = 30
	// KeepaliveProbes is how many unanswered probes end a connection.
	KeepaliveProbes = 6
	// LogLevelInfo logs connections and the bound address; LogLevelDebug logs everything.
	LogLevelInfo  = 6
	LogLevelDebug = 7
)

// ServerConfig is a TLS-PSK server that runs a program per accepted connection, with the
// connection as its standard input and output.
type ServerConfig struct {
	// ListenAddress is host:port for stunnel's accept option, e.g. ":::8000" or "0.0.0.0:8000".
	ListenAddress string
	SecretsFile   string
	ExecPath      string
	// ExecArgs is argv for ExecPath, argv[0] included.
	ExecArgs []string
	LogLevel int
}

// ClientConfig is a TLS-PSK client in inetd mode: the program that starts it (rsync through
// RSYNC_CONNECT_PROG) talks through its standard input and output; no local port is opened.
type ClientConfig struct {
	// Connect is host:port of the server; an IPv6 host is given without brackets.
	Connect     string
	SecretsFile string
	Identity    string
	// LogFile receives stunnel's log (stdout is the data channel).
	LogFile  string
	LogLevel int
}

// Render returns the stunnel configuration text.
func (c ServerConfig) Render() (string, error) {
	if len(c.ExecArgs) == 0 {
		return "", fmt.Errorf("stunnel server: no exec arguments")
	}
	var b builder
	b.global(c.LogLevel)
	b.set("foreground", "yes")
	b.line("")
	b.line("[rsync]")
	b.set("accept", c.ListenAddress)
	b.tls(c.SecretsFile)
	// "l" is the accepted network connection on a server.
	b.keepalive("l")
	b.set("exec", c.ExecPath)
	b.set("execArgs", strings.Join(c.ExecArgs, " "))
	return b.result()
}

// Render returns the stunnel configuration text. In inetd mode the service options are global.
func (c ClientConfig) Render() (string, error) {
	var b builder
	b.global(c.LogLevel)
	b.set("output", c.LogFile)
	b.set("client", "yes")
	b.set("connect", c.Connect)
	b.set("delay", "yes")
	b.set("TIMEOUTconnect", strconv.Itoa(ConnectTimeoutSeconds))
	b.tls(c.SecretsFile)
	if c.Identity != "" {
		b.set("PSKidentity", c.Identity)
	}
	// "r" is the connection to the server on a client.
	b.keepalive("r")
	return b.result()
}

// WriteFile renders a configuration into path (mode 0600).
func WriteFile(path string, r interface{ Render() (string, error) }) error {
	text, err := r.Render()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("writing stunnel configuration %s: %w", path, err)
	}
	return nil
}

type builder struct {
	b   strings.Builder
	err error
}

func (b *builder) line(s string) { b.b.WriteString(s + "\n") }

func (b *builder) set(k, v string) {
	if strings.ContainsAny(v, "\n\r") && b.err == nil {
		b.err = fmt.Errorf("stunnel option %s: value contains a line break", k)
	}
	b.line(k + " = " + v)
}

func (b *builder) global(level int) {
	if level == 0 {
		level = LogLevelInfo
	}
	b.set("debug", strconv.Itoa(level))
	b.set("syslog", "no")
	// No pid file: the root filesystem may be read-only and the parent tracks the process.
	b.set("pid", "")
}

func (b *builder) tls(secrets string) {
	b.set("PSKsecrets", secrets)
	b.set("sslVersionMin", TLSVersion)
	b.set("sslVersionMax", TLSVersion)
	b.set("ciphersuites", Ciphersuites)
	// Close as soon as both directions are done instead of waiting for the peer's close_notify.
	b.set("TIMEOUTclose", "0")
}

func (b *builder) keepalive(side string) {
	b.set("socket", side+":SO_KEEPALIVE=1")
	b.set("socket", side+":TCP_KEEPIDLE="+strconv.Itoa(KeepaliveIdleSeconds))
	b.set("socket", side+":TCP_KEEPINTVL="+strconv.Itoa(KeepaliveIntervalSeconds))
	b.set("socket", side+":TCP_KEEPCNT="+strconv.Itoa(KeepaliveProbes))
}

func (b *builder) result() (string, error) { return b.b.String(), b.err }
