package apitests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// examplesDir holds every ReplicationSource/ReplicationDestination example of the user docs.
const examplesDir = "../../api/v1alpha1/testdata/examples"

// TestDocumentedExamplesApply creates every example from the user documentation, with strict
// field validation, in its own namespace.
func TestDocumentedExamplesApply(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const minExamples = 40
	if len(files) < minExamples {
		t.Fatalf("found %d examples in %s, want at least %d", len(files), examplesDir, minExamples)
	}
	for i, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			ctx := testContext(t)
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.UnmarshalStrict(data, &obj.Object); err != nil {
				t.Fatalf("parsing %s: %v", f, err)
			}
			// Each example gets a namespace of its own: several share names.
			ns := fmt.Sprintf("example-%02d", i)
			ensureNamespace(ctx, t, ns)
			obj.SetNamespace(ns)
			if err := env.Client.Create(ctx, obj, strict); err != nil {
				t.Fatalf("the API server rejected the documented example %s: %v", filepath.Base(f), err)
			}
		})
	}
}
