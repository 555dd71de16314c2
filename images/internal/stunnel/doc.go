// Package stunnel writes stunnel TLS-PSK configurations and reads stunnel's log for a mover.
package stunnel
