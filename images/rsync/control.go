package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// The forced command runs in an ssh session, a grandchild of the destination mover. It tells the
// mover what happens over a Unix socket in the mover's private directory: one line per
// connection, answered with "ok" when the mover has taken it into account.

const (
	// controlTimeout bounds one exchange on the control socket.
	controlTimeout = 10 * time.Second
	// maxControlLine bounds a message.
	maxControlLine = 4096
	controlOK      = "ok"
)

// Messages from the forced command.
const (
	msgStart    = "start"    // peer: an rsync server starts receiving
	msgDone     = "done"     // rc bytes files: it ended
	msgRefused  = "refused"  // reason: a command was refused
	msgShutdown = "shutdown" // code: the source ends the destination
)

// sendControl sends one message and waits for the mover's answer.
func sendControl(socket, kind, text string) error {
	conn, err := net.DialTimeout("unix", socket, controlTimeout)
	if err != nil {
		return fmt.Errorf("the destination mover is not running: %w", err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(controlTimeout))
	line := strings.NewReplacer("\n", " ", "\r", " ").Replace(kind + " " + text)
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		return fmt.Errorf("telling the destination mover: %w", err)
	}
	reply, err := bufio.NewReader(io.LimitReader(conn, maxControlLine)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("waiting for the destination mover: %w", err)
	}
	if reply = strings.TrimSpace(reply); reply != controlOK {
		return errors.New(reply)
	}
	return nil
}

// controlMsg is a message the mover received, with the function that answers it.
type controlMsg struct {
	kind, text string
	reply      func(answer string)
}

// serveControl accepts messages on l until it is closed and hands each to handle (on its own
// goroutine).
func serveControl(l net.Listener, handle func(controlMsg)) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			_ = conn.SetDeadline(time.Now().Add(controlTimeout))
			line, err := bufio.NewReader(io.LimitReader(conn, maxControlLine)).ReadString('\n')
			if err != nil {
				_ = conn.Close()
				return
			}
			kind, text, _ := strings.Cut(strings.TrimSpace(line), " ")
			handle(controlMsg{kind: kind, text: text, reply: func(answer string) {
				_, _ = io.WriteString(conn, answer+"\n")
				_ = conn.Close()
			}})
		}()
	}
}
