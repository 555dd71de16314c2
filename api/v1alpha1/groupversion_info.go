package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version served by this package.
var GroupVersion = schema.GroupVersion{Group: "volsync.backube", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the package's types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the package's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&ReplicationSource{}, &ReplicationSourceList{},
		&ReplicationDestination{}, &ReplicationDestinationList{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
