package deploytests

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// find returns the object of kind and name in objs.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// field follows keys through nested maps (kustomize's maps hold Go ints, which the
// unstructured helpers refuse to deep-copy).
func field(obj map[string]any, keys ...string) any {
	var v any = obj
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func slice(v any) []any { s, _ := v.([]any); return s }

func controllerArgs(t *testing.T, objs []*unstructured.Unstructured, name string) []string {
	t.Helper()
	var args []string
	for _, a := range slice(containerOf(t, objs, name)["args"]) {
		args = append(args, fmt.Sprint(a))
	}
	return args
}

func containerOf(t *testing.T, objs []*unstructured.Unstructured, name string) map[string]any {
	t.Helper()
	cs := slice(field(find(t, objs, "Deployment", name).Object, "spec", "template", "spec", "containers"))
	if len(cs) == 0 {
		t.Fatal("the controller Deployment has no container")
	}
	return cs[0].(map[string]any)
}

// servicePort returns the metrics Service's only port as "name:port".
func servicePort(t *testing.T, objs []*unstructured.Unstructured, name string) string {
	t.Helper()
	ports := slice(field(find(t, objs, "Service", name+"-metrics").Object, "spec", "ports"))
	if len(ports) != 1 {
		t.Fatalf("metrics Service ports: %v", ports)
	}
	p := ports[0].(map[string]any)
	return fmt.Sprintf("%v:%v", p["name"], p["port"])
}

// TestMetricsServedOverHTTPS: the deployed controller serves metrics on 8443 with
// authentication (the binary's default --metrics-secure=true), scrapers get a reader role, and
// the ServiceMonitor scrapes HTTPS with a token. Only the local overlay opts out.
func TestMetricsServedOverHTTPS(t *testing.T) {
	for _, c := range controllers {
		for _, overlay := range []string{c.overlay, "all", c.overlay + "-monitoring"} {
			objs := build(t, filepath.Join(root, "overlays", overlay))
			args := controllerArgs(t, objs, c.name)
			if !slices.Contains(args, "--metrics-bind-address=:8443") || slices.Contains(args, "--metrics-secure=false") {
				t.Errorf("%s: %s args %v, want HTTPS metrics on :8443", overlay, c.name, args)
			}
			if p := servicePort(t, objs, c.name); p != "https:8443" {
				t.Errorf("%s: %s metrics Service port %v, want https 8443", overlay, c.name, p)
			}
			rules := slice(find(t, objs, "ClusterRole", "volsync-metrics-reader").Object["rules"])
			if len(rules) != 1 || fmt.Sprint(field(rules[0].(map[string]any), "nonResourceURLs")) != "[/metrics]" {
				t.Errorf("%s: volsync-metrics-reader rules %v", overlay, rules)
			}
		}
		objs := build(t, filepath.Join(root, "overlays", c.overlay+"-monitoring"))
		eps := slice(field(find(t, objs, "ServiceMonitor", c.name).Object, "spec", "endpoints"))
		if ep := eps[0].(map[string]any); ep["scheme"] != "https" || ep["port"] != "https" || ep["bearerTokenFile"] == nil {
			t.Errorf("%s ServiceMonitor endpoint %v, want https with a bearer token", c.name, ep)
		}
		find(t, objs, "PrometheusRule", "volsync-alerts")

		local := build(t, filepath.Join(root, "overlays", "local"))
		if args := controllerArgs(t, local, c.name); !slices.Contains(args, "--metrics-secure=false") {
			t.Errorf("local overlay %s args %v, want plain HTTP metrics", c.name, args)
		}
		if p := servicePort(t, local, c.name); p != "http:8080" {
			t.Errorf("local %s metrics Service port %v, want 8080", c.name, p)
		}
	}
}

// TestLeaderElectionIsNamespaced: leases and the leader-election events are granted in
// volsync-system only, and the controller learns its namespace from the downward API.
func TestLeaderElectionIsNamespaced(t *testing.T) {
	for _, c := range controllers {
		objs := build(t, filepath.Join(root, "overlays", c.overlay))
		for _, r := range slice(find(t, objs, "ClusterRole", c.name).Object["rules"]) {
			if slices.Contains(slice(field(r.(map[string]any), "apiGroups")), any("coordination.k8s.io")) {
				t.Errorf("ClusterRole %s grants leases cluster-wide: %v", c.name, r)
			}
		}
		role := find(t, objs, "Role", c.name)
		binding := find(t, objs, "RoleBinding", c.name)
		if role.GetNamespace() != "volsync-system" || binding.GetNamespace() != "volsync-system" {
			t.Errorf("%s leader-election Role/RoleBinding in %q/%q, want volsync-system", c.name, role.GetNamespace(), binding.GetNamespace())
		}
		env := slice(containerOf(t, objs, c.name)["env"])
		found := false
		for _, e := range env {
			m := e.(map[string]any)
			found = found || (m["name"] == "VOLSYNC_NAMESPACE" && field(m, "valueFrom", "fieldRef", "fieldPath") == "metadata.namespace")
		}
		if !found {
			t.Errorf("%s env %v lacks VOLSYNC_NAMESPACE from metadata.namespace", c.name, env)
		}
	}
}
