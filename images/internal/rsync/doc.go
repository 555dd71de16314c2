// Package rsync is what every rsync mover shares, whatever carries its connection (stunnel, ssh): finding rsync, the one-pass push with the fidelity flags, reading its statistics and errors, retrying transient failures, the configuration every mover reads and the entrypoint's exit.
package rsync
