// Package sock parses unix:// endpoints and listens on unix sockets, replacing stale socket files.
package sock
