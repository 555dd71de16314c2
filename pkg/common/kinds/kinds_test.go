package kinds

import (
	"fmt"
	"strings"
	"testing"
)

func TestListsMatchTheirObjects(t *testing.T) {
	for _, k := range Owned {
		obj, list := fmt.Sprintf("%T", k.Object()), fmt.Sprintf("%T", k.List())
		if list != obj+"List" {
			t.Errorf("kind %s has list %s", obj, list)
		}
	}
	if len(Watched()) == 0 || len(TemporaryLists()) == 0 || len(Objects()) != len(Owned) {
		t.Fatalf("objects %d, watched %d, temporary %d", len(Objects()), len(Watched()), len(TemporaryLists()))
	}
	for _, l := range TemporaryLists() {
		if name := fmt.Sprintf("%T", l); !strings.HasSuffix(name, "List") {
			t.Errorf("temporary list %s", name)
		}
	}
}
