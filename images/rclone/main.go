package main

import (
	"os"
	"runtime/debug"
)

// gcPercent trades memory for CPU: the mover builds the manifest (about 200 bytes per entry of
// the volume) and exits; a lazier collector halves its own CPU time on large volumes. rclone,
// a separate process, keeps its defaults.
const gcPercent = 400

func main() {
	debug.SetGCPercent(gcPercent)
	os.Exit(Main(os.Getenv, os.Environ(), os.Stdout, os.Stderr))
}
