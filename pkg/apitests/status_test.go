package apitests

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/volsync-go/volsync/api/v1alpha1"
)

const statusNamespace = "status"

func TestStatusSubresource(t *testing.T) {
	ctx := testContext(t)
	ensureNamespace(ctx, t, statusNamespace)
	rd := &v1alpha1.ReplicationDestination{
		ObjectMeta: metav1.ObjectMeta{Name: "status", Namespace: statusNamespace},
		Spec: v1alpha1.ReplicationDestinationSpec{RsyncTLS: &v1alpha1.ReplicationDestinationRsyncTLSSpec{
			ReplicationDestinationVolumeOptions: v1alpha1.ReplicationDestinationVolumeOptions{DestinationPVC: ptr("data")},
		}},
		Status: &v1alpha1.ReplicationDestinationStatus{CommonStatus: v1alpha1.CommonStatus{LastManualSync: "ignored-on-create"}},
	}
	if err := env.Client.Create(ctx, rd); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(rd)
	got := &v1alpha1.ReplicationDestination{}
	if err := env.Client.Get(ctx, key, got); err != nil {
		t.Fatal(err)
	}
	if got.Status != nil {
		t.Fatalf("status given on create was stored: %+v", got.Status)
	}

	// A status update stores the status and ignores spec changes made with it.
	start := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	got.Status = &v1alpha1.ReplicationDestinationStatus{
		CommonStatus: v1alpha1.CommonStatus{LastSyncStartTime: &start},
		RsyncTLS:     &v1alpha1.ReplicationDestinationRsyncTLSStatus{Address: ptr("10.0.0.9"), KeySecret: ptr("volsync-rsync-tls-status")},
	}
	got.Spec.Paused = true
	if err := env.Client.Status().Update(ctx, got); err != nil {
		t.Fatalf("status update: %v", err)
	}
	after := &v1alpha1.ReplicationDestination{}
	if err := env.Client.Get(ctx, key, after); err != nil {
		t.Fatal(err)
	}
	if after.Spec.Paused {
		t.Error("a status update changed the spec")
	}
	if after.Status == nil || after.Status.RsyncTLS == nil || *after.Status.RsyncTLS.Address != "10.0.0.9" ||
		!after.Status.LastSyncStartTime.Equal(&start) {
		t.Fatalf("status not stored: %+v", after.Status)
	}

	// A spec update ignores status changes made with it.
	after.Spec.Paused = true
	after.Status.RsyncTLS.Address = ptr("changed-through-spec")
	if err := env.Client.Update(ctx, after); err != nil {
		t.Fatal(err)
	}
	final := &v1alpha1.ReplicationDestination{}
	if err := env.Client.Get(ctx, key, final); err != nil {
		t.Fatal(err)
	}
	if !final.Spec.Paused {
		t.Error("spec update lost")
	}
	if *final.Status.RsyncTLS.Address != "10.0.0.9" {
		t.Errorf("a spec update changed the status: %q", *final.Status.RsyncTLS.Address)
	}

	// A merge patch of the status subresource (how the controllers write status).
	patch := client.MergeFrom(final.DeepCopy())
	final.Status.LastManualSync = "m1"
	final.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionSynchronizing, Status: metav1.ConditionTrue,
		Reason: v1alpha1.SynchronizingReasonSync, Message: "Synchronization in-progress", LastTransitionTime: start}}
	if err := env.Client.Status().Patch(ctx, final, patch); err != nil {
		t.Fatalf("status patch: %v", err)
	}
	patched := &v1alpha1.ReplicationDestination{}
	if err := env.Client.Get(ctx, key, patched); err != nil {
		t.Fatal(err)
	}
	if patched.Status.LastManualSync != "m1" || len(patched.Status.Conditions) != 1 || *patched.Status.RsyncTLS.Address != "10.0.0.9" {
		t.Fatalf("status patch not applied as sent: %+v", patched.Status)
	}
}

func TestStatusRejectsInvalidCondition(t *testing.T) {
	ctx := testContext(t)
	ensureNamespace(ctx, t, statusNamespace)
	rs := &v1alpha1.ReplicationSource{
		ObjectMeta: metav1.ObjectMeta{Name: "bad-condition", Namespace: statusNamespace},
		Spec:       v1alpha1.ReplicationSourceSpec{SourcePVC: "data", RsyncTLS: &v1alpha1.ReplicationSourceRsyncTLSSpec{}},
	}
	if err := env.Client.Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	rs.Status = &v1alpha1.ReplicationSourceStatus{CommonStatus: v1alpha1.CommonStatus{Conditions: []metav1.Condition{{
		Type: v1alpha1.ConditionSynchronizing, Status: "Maybe", Reason: v1alpha1.SynchronizingReasonSync, LastTransitionTime: metav1.Now(),
	}}}}
	if err := env.Client.Status().Update(ctx, rs); err == nil {
		t.Fatal("a condition with status Maybe was accepted")
	}
}
