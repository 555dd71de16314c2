package reconcile

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

func TestOwnWrites(t *testing.T) {
	var w ownWrites
	at := func(rv string) *v1alpha1.ReplicationSource {
		return &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rs", ResourceVersion: rv}}
	}
	if w.stale(at("10")) {
		t.Fatal("nothing written yet: not stale")
	}
	w.wrote(at("10")) // a status write from version 10 succeeded
	for range 2 {
		if !w.stale(at("10")) {
			t.Fatal("version 10 was superseded by our write: stale until the cache moves on")
		}
	}
	if w.stale(at("11")) {
		t.Fatal("a newer version is fresh")
	}
	if w.stale(at("10")) {
		t.Fatal("once the cache moved on, the entry is dropped")
	}
	other := &v1alpha1.ReplicationSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "other", ResourceVersion: "10"}}
	w.wrote(at("12"))
	if w.stale(other) {
		t.Fatal("entries are per object")
	}
	w.forget(types.NamespacedName{Namespace: "ns", Name: "rs"})
	if w.stale(at("12")) {
		t.Fatal("a deleted object is forgotten")
	}
}
