// Package smoke checks that the local cluster's storage, snapshots and DNS really work; its test
// builds only with the e2e tag and is run by make e2e-smoke.
package smoke
