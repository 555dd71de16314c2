// Package movertest runs a mover entrypoint as a child process with its own directories and uid, and checks its exit code, output and JSON result (tests of the mover images only).
package movertest
