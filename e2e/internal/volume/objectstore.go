//go:build e2e

package volume

import (
	"strings"
	"testing"
)

// separateLinksManifest is the manifest without link counts: for movers through an object
// store, where hard links arrive as separate files with the same contents (every other
// property is compared as the manifest compares it).
var separateLinksManifest = strings.Replace(manifest, "'F %n %a %h %Y'", "'F %n %a %Y'", 1)

// DigestSeparateLinks is Digest (read as the application's user) without link counts.
func DigestSeparateLinks(t *testing.T, ns, pvc string) string {
	t.Helper()
	return summary(t, ns, pvc, RunAs(t, ns, pvc, AppUID, AppGID, separateLinksManifest))
}

// summary returns the "entries N\ndigest H" lines of a manifest's output.
func summary(t *testing.T, ns, pvc, out string) string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "entries ") || strings.HasPrefix(l, "digest ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("manifest of %s/%s: %q", ns, pvc, out)
	}
	return strings.Join(lines, "\n")
}
