//go:build e2e

package volume

import (
	"strings"
	"testing"
)

// The manifest without link counts differs from the manifest only there.
func TestSeparateLinksManifest(t *testing.T) {
	if separateLinksManifest == manifest || strings.Contains(separateLinksManifest, "%h") {
		t.Fatalf("link count still in the manifest:\n%s", separateLinksManifest)
	}
	if strings.Replace(separateLinksManifest, "%a %Y", "%a %h %Y", 1) != manifest {
		t.Fatal("the manifest changed elsewhere")
	}
}
