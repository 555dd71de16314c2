package populator

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// installVolumePopulatorCRD installs a VolumePopulator CRD as kubernetes-csi's
// volume-data-source-validator defines it (cluster-scoped, sourceKind {group, kind}) and waits
// until it is served.
func installVolumePopulatorCRD(f *fixture) {
	f.t.Helper()
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "volumepopulators.populator.storage.k8s.io",
			// storage.k8s.io is a protected group (the real CRD carries its approval too).
			Annotations: map[string]string{"api-approved.kubernetes.io": "https://github.com/kubernetes/enhancements/pull/1495"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: VolumePopulatorGVK.Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "volumepopulators", Singular: "volumepopulator",
				Kind: VolumePopulatorGVK.Kind, ListKind: VolumePopulatorGVK.Kind + "List"},
			Scope: apiextensionsv1.ClusterScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: VolumePopulatorGVK.Version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Required: []string{"sourceKind"},
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"apiVersion": str, "kind": str, "metadata": {Type: "object"},
						"sourceKind": {Type: "object", Required: []string{"kind"},
							Properties: map[string]apiextensionsv1.JSONSchemaProps{"group": str, "kind": str}},
					},
				}},
			}},
		},
	}
	if err := env.Client.Create(f.ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		f.t.Fatal(err)
	}
	f.eventually("the VolumePopulator CRD is served", func() error {
		return env.Client.List(f.ctx, volumePopulatorList())
	})
}

func volumePopulator() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(VolumePopulatorGVK)
	return u
}

func volumePopulatorList() client.ObjectList {
	u := &unstructured.UnstructuredList{}
	u.SetGroupVersionKind(VolumePopulatorGVK.GroupVersion().WithKind(VolumePopulatorGVK.Kind + "List"))
	return u
}

func unstructuredStrings(obj map[string]any, fields ...string) (map[string]string, bool, error) {
	m, ok, err := unstructured.NestedStringMap(obj, fields...)
	if err != nil {
		return nil, false, fmt.Errorf("reading %v: %w", fields, err)
	}
	return m, ok, nil
}
