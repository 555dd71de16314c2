//go:build e2e

package rclone

import (
	"testing"

	"github.com/volsync-go/volsync/e2e/internal/cluster"
	"github.com/volsync-go/volsync/e2e/internal/s3"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// The suite's S3 servers, started by TestRclone before its cases: one plain HTTP, one HTTPS
// with a certificate signed by a CA of its own. Each case uses its own bucket.
var plain, secure *s3.Server

// TestRclone starts the S3 servers and runs the cases in parallel, each in namespaces of its
// own; the servers go when every case is done.
func TestRclone(t *testing.T) {
	plain = s3.Deploy(t, "e2e-rclone-s3", false)
	secure = s3.Deploy(t, "e2e-rclone-s3tls", true)
	plain.WaitReady(t)
	secure.WaitReady(t)
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"FanOut", fanOut},
		{"DestinationBeforeSource", destinationBeforeSource},
		{"DirectDestination", directDestination},
		{"CustomCA", customCA},
		{"TLSWithoutCustomCA", tlsWithoutCustomCA},
		{"PrivilegedOwnership", privilegedOwnership},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}
