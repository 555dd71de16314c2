// Package jobs builds mover Jobs with secure defaults, runs them to completion with bounded,
// visible retries, and reads the mover's JSON result from its termination message.
package jobs
