package apitests

import (
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

const crdDir = "../../deploy/kustomize/crd/bases"

func loadCRD(t *testing.T, plural string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(crdDir, "volsync.backube_"+plural+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

// TestCRDShape pins what users see of the CRDs: names, printer columns, and the schedule
// pattern and length bound shared with the Go constants that the controllers use.
func TestCRDShape(t *testing.T) {
	for _, tc := range []struct {
		plural, kind string
		columns      []string
	}{
		// The reference's columns, then (kubectl get -o wide) when restic last pruned.
		{"replicationsources", "ReplicationSource", []string{"Source", "Last sync", "Duration", "Next sync", "Last pruned", "Syncthing ID", "Syncthing address"}},
		{"replicationdestinations", "ReplicationDestination", []string{"Last sync", "Duration", "Next sync"}},
	} {
		t.Run(tc.plural, func(t *testing.T) {
			crd := loadCRD(t, tc.plural)
			if crd.Spec.Group != "volsync.backube" || crd.Spec.Names.Kind != tc.kind || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
				t.Fatalf("unexpected names: %s %s %s", crd.Spec.Group, crd.Spec.Names.Kind, crd.Spec.Scope)
			}
			if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v1alpha1" || crd.Spec.Versions[0].Subresources.Status == nil {
				t.Fatal("want one version v1alpha1 with the status subresource")
			}
			ver := crd.Spec.Versions[0]
			var cols []string
			for _, c := range ver.AdditionalPrinterColumns {
				cols = append(cols, c.Name)
			}
			if len(cols) != len(tc.columns) {
				t.Fatalf("printer columns %v, want %v", cols, tc.columns)
			}
			for i := range cols {
				if cols[i] != tc.columns[i] {
					t.Fatalf("printer columns %v, want %v", cols, tc.columns)
				}
			}
			checkRulesASCII(t, "", ver.Schema.OpenAPIV3Schema)
			sched := ver.Schema.OpenAPIV3Schema.Properties["spec"].Properties["trigger"].Properties["schedule"]
			if sched.Pattern != v1alpha1.SchedulePattern {
				t.Fatalf("CRD schedule pattern differs from v1alpha1.SchedulePattern:\n%s\n%s", sched.Pattern, v1alpha1.SchedulePattern)
			}
			if sched.MaxLength == nil || *sched.MaxLength != v1alpha1.ScheduleMaxLength {
				t.Fatalf("CRD schedule maxLength %v differs from v1alpha1.ScheduleMaxLength %d", sched.MaxLength, v1alpha1.ScheduleMaxLength)
			}
		})
	}
}

// checkRulesASCII guards against gofmt's doc-comment rewriting, which turns a CEL ” into a
// typographic quote inside kubebuilder markers.
func checkRulesASCII(t *testing.T, path string, s *apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	if s == nil {
		return
	}
	for _, r := range s.XValidations {
		for _, c := range r.Rule {
			if c > 127 {
				t.Errorf("CEL rule at %s has a non-ASCII character %q: %s", path, c, r.Rule)
			}
		}
	}
	for name, p := range s.Properties {
		checkRulesASCII(t, path+"."+name, &p)
	}
	if s.Items != nil {
		checkRulesASCII(t, path+"[]", s.Items.Schema)
	}
	if s.AdditionalProperties != nil {
		checkRulesASCII(t, path+"{}", s.AdditionalProperties.Schema)
	}
}
