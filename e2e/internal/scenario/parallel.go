//go:build e2e

package scenario

import "testing"

// RunParallel runs the cases as parallel subtests of t (each in namespaces of its own): t's
// cleanups, such as shared servers, run once every case is done.
func RunParallel(t *testing.T, cases ...Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			c.Run(t)
		})
	}
}
