package rsynctls

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/deploytests"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// The identity the kustomize overlay gives the controller.
const (
	deployedOverlay     = "rsync-tls"
	controllerNamespace = "volsync-system"
	controllerAccount   = "volsync-rsync-tls"
)

// deployedConfig is the controller's rest.Config: it impersonates the controller's
// ServiceAccount after the overlay's roles and bindings were applied.
var deployedConfig *rest.Config

// asDeployed applies the RBAC of the deployed overlay and returns a config with exactly those
// permissions. TestMain runs the controller under test with it, so every lifecycle test of
// this package fails on a verb the ClusterRole lacks, as a production cluster would.
func asDeployed(e *testenv.Env) (*rest.Config, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	cfg, err := deploytests.AsDeployed(ctx, e.Client, e.Config, deploytests.OverlayDir(root, deployedOverlay),
		controllerNamespace, controllerAccount)
	if err != nil {
		return nil, fmt.Errorf("granting the controller the deployed RBAC: %w", err)
	}
	deployedConfig = cfg
	return cfg, nil
}

// TestControllerRunsAsDeployed: the controller under test really is limited to the deployed
// ClusterRole (so the other tests prove it suffices).
func TestControllerRunsAsDeployed(t *testing.T) {
	ctx := ctxT(t)
	c, err := client.New(deployedConfig, client.Options{Scheme: env.Scheme})
	must(t, err)
	for _, tc := range []struct {
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: "any"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles", Namespace: "any"}, false},
		{authorizationv1.ResourceAttributes{Verb: "watch", Resource: "pods"}, true},
		{authorizationv1.ResourceAttributes{Verb: "update", Resource: "leases", Group: "coordination.k8s.io", Namespace: controllerNamespace}, true},
		{authorizationv1.ResourceAttributes{Verb: "update", Resource: "leases", Group: "coordination.k8s.io", Namespace: "any"}, false},
		{authorizationv1.ResourceAttributes{Verb: "delete", Resource: "namespaces"}, false},
		{authorizationv1.ResourceAttributes{Verb: "update", Resource: "secrets", Namespace: "any"}, false},
	} {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &tc.attrs}}
		must(t, c.Create(ctx, review))
		if review.Status.Allowed != tc.want {
			t.Errorf("controller may %s %s/%s in %q: %v, want %v", tc.attrs.Verb, tc.attrs.Group, tc.attrs.Resource,
				tc.attrs.Namespace, review.Status.Allowed, tc.want)
		}
	}
}

// failOnForbidden fails the test at once when the status reports a permission error.
func failOnForbidden(t *testing.T, st *v1alpha1.CommonStatus) {
	t.Helper()
	if c := condition(st); c != nil && strings.Contains(strings.ToLower(c.Message), "forbidden") {
		t.Fatalf("the deployed RBAC is not enough: %s", c.Message)
	}
}

// TestDeployedRBACSuffices runs a destination and a source through a sync with the deployed
// permissions. No permission error may appear, and no Role or RoleBinding is made for the
// movers (they would grant nothing); a binding an older version left is not touched.
func TestDeployedRBACSuffices(t *testing.T) {
	ctx := ctxT(t)
	ns := newNamespace(t, nil)

	rd := newDestination(ns, "dest", "one")
	must(t, k8s.Create(ctx, rd))
	pvc := &corev1.PersistentVolumeClaim{}
	eventually(t, "destination PVC", func() error { return get(ctx, ns, "volsync-dest-dst", pvc) })
	bind(t, pvc)
	succeed(t, ns, "volsync-rsync-tls-dst-dest")
	readySnapshot(t, ns, pvc.Name+"-"+clk.Now().UTC().Format("20060102150405"))
	eventually(t, "destination synced", func() error {
		must(t, get(ctx, ns, "dest", rd))
		failOnForbidden(t, &rd.Status.CommonStatus)
		if rd.Status.LastManualSync != "one" {
			return fmt.Errorf("status: %+v", rd.Status)
		}
		return nil
	})

	sourcePVC(t, ns, "data")
	rs := newSource(ns, "src", "data", v1alpha1.CopyMethodClone, &v1alpha1.TriggerSpec{Manual: "one"})
	must(t, k8s.Create(ctx, rs))
	sourceSynced := func(manual string) {
		t.Helper()
		job := &batchv1.Job{}
		eventually(t, "source Job of sync "+manual, func() error {
			must(t, get(ctx, ns, "src", rs))
			if rs.Status != nil {
				failOnForbidden(t, &rs.Status.CommonStatus)
			}
			if err := get(ctx, ns, "volsync-rsync-tls-src-src", job); err != nil {
				return err
			}
			if len(job.Status.Conditions) > 0 {
				return errors.New("still the previous sync's Job (cleanup is deleting it)")
			}
			return nil
		})
		startJob(t, job)
		moverPod(t, job, 0, corev1.PodSucceeded, successJSON)
		finishJob(t, job, true, 0)
		eventually(t, "source synced "+manual, func() error {
			must(t, get(ctx, ns, "src", rs))
			if rs.Status == nil {
				return fmt.Errorf("no status")
			}
			failOnForbidden(t, &rs.Status.CommonStatus)
			if rs.Status.LastManualSync != manual {
				return fmt.Errorf("status: %+v", rs.Status)
			}
			return nil
		})
	}
	sourceSynced("one")

	for _, o := range []client.Object{&rbacv1.Role{}, &rbacv1.RoleBinding{}} {
		if err := get(ctx, ns, "volsync-src-src", o); !apierrors.IsNotFound(err) {
			t.Errorf("%T volsync-src-src: %v, want none (a Role without rules grants nothing)", o, err)
		}
	}

	// A binding an older version left (owned, labelled) stays as it is.
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "volsync-src-src",
			Labels: map[string]string{v1alpha1.CreatedByLabel: v1alpha1.CreatedByValue}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "volsync-src-src", Namespace: ns}},
	}
	must(t, controllerutil.SetControllerReference(rs, rb, env.Scheme))
	must(t, k8s.Create(ctx, rb))
	must(t, get(ctx, ns, "src", rs))
	patch := client.MergeFrom(rs.DeepCopy())
	rs.Spec.Trigger.Manual = "two"
	must(t, k8s.Patch(ctx, rs, patch))
	sourceSynced("two")
	after := &rbacv1.RoleBinding{}
	must(t, get(ctx, ns, "volsync-src-src", after))
	if after.ResourceVersion != rb.ResourceVersion {
		t.Errorf("the controller changed a RoleBinding an older version left: %+v", after)
	}
	for reason, notes := range eventsFor(t, ns, "src") {
		for _, n := range notes {
			if strings.Contains(strings.ToLower(n), "forbidden") {
				t.Errorf("event %s: %s", reason, n)
			}
		}
	}
}

// TestLeaderElectionAsDeployed: with the deployed permissions a replica takes the lease in
// the controller's namespace and announces it with an event there.
func TestLeaderElectionAsDeployed(t *testing.T) {
	ctx, cancel := context.WithCancel(ctxT(t))
	const id = "rbac-test.volsync.backube"
	mgr, err := ctrl.NewManager(deployedConfig, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		LeaderElection: true, LeaderElectionID: id, LeaderElectionNamespace: controllerNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	select {
	case <-mgr.Elected():
	case err := <-done:
		t.Fatalf("manager stopped before it was elected: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("not elected: the lease could not be taken")
	}
	eventually(t, "leader election event", func() error {
		list := &corev1.EventList{}
		if err := k8s.List(ctx, list, client.InNamespace(controllerNamespace)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == "LeaderElection" && e.InvolvedObject.Name == id {
				return nil
			}
		}
		return fmt.Errorf("no LeaderElection event among %d", len(list.Items))
	})
}
