// Package rsynctls is the rsync-over-TLS-PSK mover: an rsync daemon behind stunnel (server) and an rsync push through stunnel (client).
package rsynctls
