// Package syncbuffer gives tests a bytes.Buffer that a child process or a goroutine can write
// while the test reads it.
package syncbuffer
