package deploytests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := installMonitoringCRDs(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

func build(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Render(dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func apply(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Apply(ctx, env.Client, objs); err != nil {
		t.Fatal(err)
	}
}

func kinds(objs []*unstructured.Unstructured) map[string]int {
	k := map[string]int{}
	for _, o := range objs {
		k[o.GetKind()]++
	}
	return k
}

const root = "../../deploy/kustomize"

func TestOverlaysApply(t *testing.T) {
	overlays, err := filepath.Glob(filepath.Join(root, "overlays", "*"))
	if err != nil || len(overlays) == 0 {
		t.Fatalf("no overlays: %v", err)
	}
	for _, dir := range overlays {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			objs := build(t, dir)
			k := kinds(objs)
			if k["CustomResourceDefinition"] != 2 || k["Namespace"] != 1 || k["Deployment"] < 1 || k["ClusterRole"] < 1 || k["ClusterRoleBinding"] < 1 {
				t.Fatalf("overlay %s lacks parts: %v", dir, k)
			}
			apply(t, objs)
		})
	}
}

// controllers are the mover controllers: overlay, Deployment (and ClusterRole) name, image name.
var controllers = []struct{ overlay, name, image string }{
	{"rsync-tls", "volsync-rsync-tls", "rsync-tls"},
	{"rsync", "volsync-rsync", "rsync"},
	{"rclone", "volsync-rclone", "rclone"},
	{"restic", "volsync-restic", "restic"},
	{"syncthing", "volsync-syncthing", "syncthing"},
}

func TestLocalOverlayUsesLocalImages(t *testing.T) {
	objs := build(t, filepath.Join(root, "overlays", "local"))
	for _, c := range controllers {
		spec := find(t, objs, "Deployment", c.name).Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		ctr := spec["containers"].([]any)[0].(map[string]any)
		env := ctr["env"].([]any)[0].(map[string]any)
		if ctr["image"] != "localhost/"+c.image+"-controller:dev" || env["value"] != "localhost/"+c.image+":dev" {
			t.Errorf("local overlay images of %s: %v %v", c.name, ctr["image"], env)
		}
	}
	// The volume populator has no mover image.
	spec := find(t, objs, "Deployment", "volsync-populator").Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	if img := spec["containers"].([]any)[0].(map[string]any)["image"]; img != "localhost/populator:dev" {
		t.Errorf("local overlay image of the populator: %v", img)
	}
}

func ptrTrue() *bool { b := true; return &b }

// installMonitoringCRDs installs stand-ins for the Prometheus Operator CRDs the monitoring
// overlay needs, and waits until they are served.
func installMonitoringCRDs() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kinds := map[string]string{"ServiceMonitor": "servicemonitors", "PrometheusRule": "prometheusrules"}
	for kind, plural := range kinds {
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + ".monitoring.coreos.com"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "monitoring.coreos.com", Scope: apiextensionsv1.NamespaceScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, Plural: plural},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: ptrTrue()}}}},
			},
		}
		if err := env.Client.Create(ctx, crd); err != nil {
			return err
		}
	}
	for {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("monitoring.coreos.com/v1")
		list.SetKind("PrometheusRuleList")
		err := env.Client.List(ctx, list)
		if err == nil {
			list.SetKind("ServiceMonitorList")
			if err = env.Client.List(ctx, list); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("monitoring CRDs not served: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
