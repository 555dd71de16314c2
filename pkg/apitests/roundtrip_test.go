package apitests

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

const roundTripNamespace = "roundtrip"

// apiPkg is the import path of the API types; fields of these types are walked into.
var apiPkg = reflect.TypeOf(v1alpha1.ReplicationSource{}).PkgPath()

func jsonName(f reflect.StructField) (name string, inline bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
		return "", true
	}
	if name == "" {
		name = f.Name
	}
	return name, false
}

func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t
}

func isAPIStruct(t reflect.Type) bool {
	t = elem(t)
	return t.Kind() == reflect.Struct && t.PkgPath() == apiPkg
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// typePaths lists the JSON paths of every leaf field of an API struct type.
func typePaths(t reflect.Type, prefix string, out map[string]bool) {
	t = elem(t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.PkgPath() == "k8s.io/apimachinery/pkg/apis/meta/v1" && (f.Name == "TypeMeta" || f.Name == "ObjectMeta") {
			continue
		}
		name, inline := jsonName(f)
		path := prefix
		if !inline {
			path = join(prefix, name)
		}
		if isAPIStruct(f.Type) {
			typePaths(f.Type, path, out)
			continue
		}
		out[path] = true
	}
}

// valuePaths lists the JSON paths of the leaf fields that are set in v.
func valuePaths(v reflect.Value, prefix string, out map[string]bool) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			valuePaths(v.Index(i), prefix, out)
		}
		return
	case reflect.Map:
		for _, k := range v.MapKeys() {
			valuePaths(v.MapIndex(k), prefix, out)
		}
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == "TypeMeta" || f.Name == "ObjectMeta" {
			continue
		}
		name, inline := jsonName(f)
		path := prefix
		if !inline {
			path = join(prefix, name)
		}
		fv := v.Field(i)
		if isAPIStruct(f.Type) {
			valuePaths(fv, path, out)
			continue
		}
		if !fv.IsZero() {
			out[path] = true
		}
	}
}

// checkCovered fails when some field of the type is set in none of the fixtures, so a new
// API field cannot be left out of the round trip.
func checkCovered[T any](t *testing.T, objs []T) {
	t.Helper()
	want := map[string]bool{}
	typePaths(reflect.TypeOf(objs[0]), "", want)
	got := map[string]bool{}
	for _, o := range objs {
		valuePaths(reflect.ValueOf(o), "", got)
	}
	var missing []string
	for p := range want {
		if !got[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("fixtures leave these fields unset, so the round trip does not cover them:\n  %s", strings.Join(missing, "\n  "))
	}
}

func TestFixturesSetEveryField(t *testing.T) {
	checkCovered(t, fullSources())
	checkCovered(t, fullDestinations())
}

// roundTrip creates obj, writes its status through the status subresource, reads it back and
// compares spec and status with what was sent.
func roundTrip[T client.Object](t *testing.T, obj T, fresh T, setStatus func(from, to T), spec, status func(T) any) {
	t.Helper()
	ctx := testContext(t)
	want := obj.DeepCopyObject().(T)
	if err := env.Client.Create(ctx, obj, strict); err != nil {
		t.Fatalf("creating %s: %v", obj.GetName(), err)
	}
	setStatus(want, obj)
	if err := env.Client.Status().Update(ctx, obj); err != nil {
		t.Fatalf("updating status of %s: %v", obj.GetName(), err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(spec(want), spec(fresh)) {
		t.Errorf("spec of %s changed on the way through the API server:\nsent %+v\ngot  %+v", obj.GetName(), spec(want), spec(fresh))
	}
	if !equality.Semantic.DeepEqual(status(want), status(fresh)) {
		t.Errorf("status of %s changed on the way through the API server:\nsent %+v\ngot  %+v", obj.GetName(), status(want), status(fresh))
	}
	if fresh.GetLabels()["app"] != "db" || len(fresh.GetAnnotations()) == 0 {
		t.Errorf("metadata of %s lost: %v %v", obj.GetName(), fresh.GetLabels(), fresh.GetAnnotations())
	}
}

func TestFullyPopulatedObjectsRoundTrip(t *testing.T) {
	ensureNamespace(testContext(t), t, roundTripNamespace)
	for _, rs := range fullSources() {
		t.Run(rs.Name, func(t *testing.T) {
			roundTrip(t, rs, &v1alpha1.ReplicationSource{},
				func(from, to *v1alpha1.ReplicationSource) { to.Status = from.Status.DeepCopy() },
				func(o *v1alpha1.ReplicationSource) any { return o.Spec },
				func(o *v1alpha1.ReplicationSource) any { return o.Status })
		})
	}
	for _, rd := range fullDestinations() {
		t.Run(rd.Name, func(t *testing.T) {
			roundTrip(t, rd, &v1alpha1.ReplicationDestination{},
				func(from, to *v1alpha1.ReplicationDestination) { to.Status = from.Status.DeepCopy() },
				func(o *v1alpha1.ReplicationDestination) any { return o.Spec },
				func(o *v1alpha1.ReplicationDestination) any { return o.Status })
		})
	}
}
