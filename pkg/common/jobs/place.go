package jobs

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/volsync-go/volsync/pkg/common/affinity"
)

// place decides where a new Job's pod runs, once per Job: next to the pods using the data
// volume when the mover mounts it itself (Spec.Direct), otherwise next to the users of the
// first PVC moverVolume, as in the reference. A placement given in the Spec is kept. Only
// create calls it, so a running Job costs no Pod List and is never replaced because the
// application pod stopped or moved; a replacement Job (after a failure) is placed afresh.
func (r Runner) place(ctx context.Context, s *Spec) error {
	if len(s.NodeSelector) > 0 || len(s.Tolerations) > 0 {
		return nil
	}
	var candidates []*corev1.PersistentVolumeClaim
	if s.Direct && s.Data != nil {
		candidates = append(candidates, s.Data.PVC)
	}
	candidates = append(candidates, s.placeWith)
	pods := r.Pods
	if pods == nil {
		pods = r.Client
	}
	for _, pvc := range candidates {
		if pvc == nil {
			continue
		}
		p, err := affinity.ForVolume(ctx, pods, pvc)
		if err != nil {
			return err
		}
		if p != nil {
			s.NodeSelector, s.Tolerations = p.NodeSelector, p.Tolerations
			return nil
		}
	}
	return nil
}
