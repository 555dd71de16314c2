// Package volume writes, digests and restores the e2e suites' volumes with short-lived pods that run as the application's user.
package volume
