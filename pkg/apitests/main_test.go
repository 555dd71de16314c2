package apitests

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// testTimeout bounds every API call of a test.
const testTimeout = 30 * time.Second

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func testContext(t *testing.T) context.Context { return testenv.Context(t, testTimeout) }

// ensureNamespace creates a namespace if it does not exist yet.
func ensureNamespace(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// strict makes the API server reject unknown or duplicate fields instead of dropping them,
// so a field missing from our schema fails the test instead of vanishing.
var strict = &client.CreateOptions{FieldValidation: metav1.FieldValidationStrict}
