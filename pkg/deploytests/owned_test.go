package deploytests

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	ownedkinds "github.com/volsync-go/volsync/pkg/common/kinds"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// TestClusterRoleCoversOwnedKinds: the generated ClusterRole grants what the caches and the
// writes of every kind VolSync creates need (kinds.Owned), so adding a kind without its RBAC
// marker fails here rather than in a cluster.
func TestClusterRoleCoversOwnedKinds(t *testing.T) {
	scheme, err := testenv.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range controllers {
		objs := build(t, filepath.Join(root, "overlays", c.overlay))
		checkGrantsOwnedKinds(t, c.name, slice(find(t, objs, "ClusterRole", c.name).Object["rules"]), scheme)
	}
}

func checkGrantsOwnedKinds(t *testing.T, role string, rules []any, scheme *runtime.Scheme) {
	t.Helper()
	granted := func(group, resource, verb string) bool {
		for _, r := range rules {
			m := r.(map[string]any)
			if slices.Contains(slice(m["apiGroups"]), any(group)) && slices.Contains(slice(m["resources"]), any(resource)) &&
				slices.Contains(slice(m["verbs"]), any(verb)) {
				return true
			}
		}
		return false
	}
	for _, k := range ownedkinds.Owned {
		gvk, err := apiutil.GVKForObject(k.Object(), scheme)
		if err != nil {
			t.Fatal(err)
		}
		resource := strings.ToLower(gvk.Kind) + "s"
		for _, verb := range []string{"get", "list", "watch", "create", "patch"} {
			if !granted(gvk.Group, resource, verb) {
				t.Errorf("ClusterRole %s does not grant %s on %s (group %q)", role, verb, resource, gvk.Group)
			}
		}
	}
}
