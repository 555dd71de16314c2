// Package rsynctls is the rsync-over-TLS (stunnel PSK) mover: it plugs spec.rsyncTLS into the
// shared reconcilers.
package rsynctls
