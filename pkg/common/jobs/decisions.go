package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DecisionsAnnotation holds, as JSON, the per-synchronization decisions a mover made when it
// created the Job (Spec.Decisions): whether this run prunes, unlocks, restores a given point
// in time, ... They are frozen for the Job's life: a decision that depends on time or on a
// one-shot field must not flip mid-sync and replace a running Job.
const DecisionsAnnotation = "volsync.backube/decisions"

// Decisions returns the decisions frozen in the existing Job name of namespace ns, or, when no
// Job exists yet, the ones decide makes now (to be given to Spec.Decisions, which stores them
// when the Job is created). A Job that is being replaced hands its decisions to its successor.
func (r Runner) Decisions(ctx context.Context, ns, name string, decide func() (map[string]string, error)) (map[string]string, error) {
	job := &batchv1.Job{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, job)
	switch {
	case apierrors.IsNotFound(err):
		return decide()
	case err != nil:
		return nil, fmt.Errorf("reading Job %s: %w", name, err)
	}
	raw, ok := job.Annotations[DecisionsAnnotation]
	if !ok {
		return decide()
	}
	d := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		// Not ours to fail on: decide afresh (the Job is replaced if that changes its pod).
		return decide()
	}
	return d, nil
}

// setDecisions stores d on a Job being built.
func setDecisions(job *batchv1.Job, d map[string]string) {
	if len(d) == 0 {
		return
	}
	b, _ := json.Marshal(d) // a map of strings always encodes
	job.Annotations[DecisionsAnnotation] = string(b)
}
