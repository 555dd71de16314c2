package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
	"github.com/volsync-go/volsync/pkg/common/naming"
	"github.com/volsync-go/volsync/pkg/deploytests"
	"github.com/volsync-go/volsync/pkg/testutil/testenv"
)

// deploy applies the RBAC of the controller's component (with the base it is deployed on, for
// its namespace) and sets h.Deployed to a config with exactly those permissions: the
// controller under test runs with it, so every test fails on a verb the ClusterRole lacks, as
// a production cluster would.
func (h *Harness) deploy() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := componentOverlay(root, h.Component)
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	objs, err := deploytests.Render(dir)
	if err != nil {
		return err
	}
	accounts := slices.DeleteFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() != "ServiceAccount" })
	if len(accounts) != 1 {
		return fmt.Errorf("component %s has %d ServiceAccounts, want the controller's one", h.Component, len(accounts))
	}
	h.ControllerNamespace, h.ServiceAccount = accounts[0].GetNamespace(), accounts[0].GetName()
	h.Deployed, err = deploytests.AsDeployed(ctx, h.Client, h.Env.Config, dir, h.ControllerNamespace, h.ServiceAccount)
	if err != nil {
		return fmt.Errorf("granting the controller the RBAC of component %s: %w", h.Component, err)
	}
	return nil
}

// componentOverlay writes an overlay of the base and the component alone into a new
// directory (the caller removes it): kustomize builds overlays, not components.
func componentOverlay(root, component string) (string, error) {
	comp := ComponentDir(root, component)
	if _, err := os.Stat(filepath.Join(comp, "kustomization.yaml")); err != nil {
		return "", fmt.Errorf("component %s: %w", component, err)
	}
	dir, err := os.MkdirTemp("", "lifecycle-overlay-")
	if err != nil {
		return "", err
	}
	// kustomize takes only relative paths.
	base, err := filepath.Rel(dir, filepath.Join(root, "deploy", "kustomize", "base"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	rel, err := filepath.Rel(dir, comp)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
		"resources:\n  - " + base + "\ncomponents:\n  - " + rel + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// RunsAsDeployed checks that the controller under test really is limited to its component's
// ClusterRole (so the other tests prove it suffices).
func (h *Harness) RunsAsDeployed(t *testing.T) {
	ctx := Context(t)
	c, err := client.New(h.Deployed, client.Options{Scheme: h.Env.Scheme})
	Must(t, err)
	for _, tc := range []struct {
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: "any"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles", Namespace: "any"}, false},
		{authorizationv1.ResourceAttributes{Verb: "watch", Resource: "pods"}, true},
		{authorizationv1.ResourceAttributes{Verb: "update", Resource: "leases", Group: "coordination.k8s.io", Namespace: h.ControllerNamespace}, true},
		{authorizationv1.ResourceAttributes{Verb: "update", Resource: "leases", Group: "coordination.k8s.io", Namespace: "any"}, false},
		{authorizationv1.ResourceAttributes{Verb: "delete", Resource: "namespaces"}, false},
		{authorizationv1.ResourceAttributes{Verb: "update", Resource: "secrets", Namespace: "any"}, false},
		{authorizationv1.ResourceAttributes{Verb: "delete", Resource: "secrets", Namespace: "any"}, false},
	} {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &tc.attrs}}
		Must(t, c.Create(ctx, review))
		if review.Status.Allowed != tc.want {
			t.Errorf("controller may %s %s/%s in %q: %v, want %v", tc.attrs.Verb, tc.attrs.Group, tc.attrs.Resource,
				tc.attrs.Namespace, review.Status.Allowed, tc.want)
		}
	}
}

// FailOnForbidden fails the test at once when a status reports a permission error.
func FailOnForbidden(t *testing.T, st *v1alpha1.CommonStatus) {
	t.Helper()
	if c := Synchronizing(st); c != nil && strings.Contains(strings.ToLower(c.Message), "forbidden") {
		t.Fatalf("the deployed RBAC is not enough: %s", c.Message)
	}
}

// DeployedRBACSuffices runs a destination and a source through a sync with the deployed
// permissions. No permission error may appear, and no Role or RoleBinding is made for the
// movers (they would grant nothing); a binding an older version left is not touched.
func (h *Harness) DeployedRBACSuffices(t *testing.T) {
	ctx := Context(t)
	ns, rs := h.StartSource(t, "src", v1alpha1.CopyMethodClone, &v1alpha1.TriggerSpec{Manual: "one"})

	rd := h.NewDestination(ns, "dest", "one")
	h.Create(t, rd)
	pvc := h.DestinationPVC(t, ns, "dest")
	h.Succeed(t, ns, h.JobName(naming.Destination, "dest"))
	h.ReadySnapshot(t, ns, h.DestinationSnapshot(pvc.Name))
	h.WaitSynced(t, rd, "one")

	sourceSynced := func(manual string) {
		t.Helper()
		job := &batchv1.Job{}
		Eventually(t, "source Job of sync "+manual, func() error {
			Must(t, h.Get(ctx, ns, "src", rs))
			if st := Common(rs); st != nil {
				FailOnForbidden(t, st)
			}
			if err := h.Get(ctx, ns, h.JobName(naming.Source, "src"), job); err != nil {
				return err
			}
			if len(job.Status.Conditions) > 0 {
				return errors.New("still the previous sync's Job (cleanup is deleting it)")
			}
			return nil
		})
		h.StartJob(t, job)
		h.MoverPod(t, job, 0, corev1.PodSucceeded, SuccessJSON)
		h.FinishJob(t, job, true, 0)
		h.WaitSynced(t, rs, manual)
	}
	sourceSynced("one")

	for _, o := range []client.Object{&rbacv1.Role{}, &rbacv1.RoleBinding{}} {
		if err := h.Get(ctx, ns, "volsync-src-src", o); !apierrors.IsNotFound(err) {
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
	Must(t, controllerutil.SetControllerReference(rs, rb, h.Env.Scheme))
	Must(t, h.Client.Create(ctx, rb))
	Must(t, h.Get(ctx, ns, "src", rs))
	patch := client.MergeFrom(rs.DeepCopy())
	rs.Spec.Trigger.Manual = "two"
	Must(t, h.Client.Patch(ctx, rs, patch))
	sourceSynced("two")
	after := &rbacv1.RoleBinding{}
	Must(t, h.Get(ctx, ns, "volsync-src-src", after))
	if after.ResourceVersion != rb.ResourceVersion {
		t.Errorf("the controller changed a RoleBinding an older version left: %+v", after)
	}
	for _, name := range []string{"src", "dest"} {
		for reason, notes := range h.EventsFor(t, ns, name) {
			for _, n := range notes {
				if strings.Contains(strings.ToLower(n), "forbidden") {
					t.Errorf("event %s of %s: %s", reason, name, n)
				}
			}
		}
	}
}

// LeaderElectionAsDeployed: with the deployed permissions a replica takes the lease in the
// controller's namespace and announces it with an event there.
func (h *Harness) LeaderElectionAsDeployed(t *testing.T) {
	ctx, cancel := context.WithCancel(Context(t))
	id := "rbac-test-" + h.Builder.Name() + ".volsync.backube"
	mgr, err := ctrl.NewManager(h.Deployed, ctrl.Options{
		Scheme: h.Env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		LeaderElection: true, LeaderElectionID: id, LeaderElectionNamespace: h.ControllerNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	Must(t, err)
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
	case <-time.After(WaitTimeout):
		t.Fatal("not elected: the lease could not be taken")
	}
	Eventually(t, "leader election event", func() error {
		list := &corev1.EventList{}
		if err := h.Client.List(ctx, list, client.InNamespace(h.ControllerNamespace)); err != nil {
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
