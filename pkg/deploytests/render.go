package deploytests

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// fieldOwner is the server-side apply field manager of what the tests deploy.
const fieldOwner = "deploytests"

// rbacKinds are the objects that make up a controller's identity and permissions.
var rbacKinds = []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}

// OverlayDir is the directory of the kustomize overlay name under the repository root.
func OverlayDir(root, name string) string {
	return filepath.Join(root, "deploy", "kustomize", "overlays", name)
}

// Render runs `kustomize build dir`.
func Render(dir string) ([]*unstructured.Unstructured, error) {
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out := make([]*unstructured.Unstructured, 0, resMap.Size())
	for _, r := range resMap.Resources() {
		m, err := r.Map()
		if err != nil {
			return nil, fmt.Errorf("reading %s from %s: %w", r.CurId(), dir, err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// Apply server-side applies objs in order.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if err := c.Patch(ctx, o, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil { //nolint:staticcheck // SSA of unstructured objects
			return fmt.Errorf("server-side apply of %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// ServiceAccountUser is the user name the API server gives the ServiceAccount namespace/name.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// AsDeployed applies the namespace, ServiceAccounts, roles and bindings of the overlay dir
// (nothing else: no controller runs) and returns a copy of admin that impersonates the
// ServiceAccount namespace/name, with the groups the API server gives a ServiceAccount token.
// A client built from it has exactly the permissions the overlay grants that controller.
func AsDeployed(ctx context.Context, c client.Client, admin *rest.Config, dir, namespace, name string) (*rest.Config, error) {
	objs, err := Render(dir)
	if err != nil {
		return nil, err
	}
	objs = slices.DeleteFunc(objs, func(o *unstructured.Unstructured) bool { return !slices.Contains(rbacKinds, o.GetKind()) })
	// Namespaces and ServiceAccounts first, so bindings name subjects that exist.
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return slices.Index(rbacKinds, a.GetKind()) - slices.Index(rbacKinds, b.GetKind())
	})
	if err := Apply(ctx, c, objs); err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: ServiceAccountUser(namespace, name),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
	return cfg, nil
}
