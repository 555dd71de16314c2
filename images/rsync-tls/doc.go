// Command rsync-tls is the rsync-over-TLS-PSK mover's entrypoint: "server" on the destination, "client" on the source (contract: README.md).
package main
