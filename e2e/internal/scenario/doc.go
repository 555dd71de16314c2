// Package scenario runs the replication scenarios every mover's e2e suite shares; a suite describes its mover (a Mover: API field names, generated names) and adds its own cases.
package scenario
