package lifecycle

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Checks are a mover's own checks of its Jobs in the shared scenarios.
type Checks struct {
	Source      SourceCheck
	Destination DestinationCheck
	// PrivilegedCaps are the capabilities a privileged mover of this kind gets.
	PrivilegedCaps []corev1.Capability
}

// Scenarios runs, as subtests, every shared scenario a Job-based mover passes: the controller
// as deployed, quiet at rest, each copy method, schedules, pause, both sides' lifecycles, bad
// volume input, failures, other movers' objects, stalled Jobs and privileged movers.
func (h *Harness) Scenarios(t *testing.T, c Checks) {
	for _, s := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"ControllerRunsAsDeployed", h.RunsAsDeployed},
		{"DeployedRBACSuffices", h.DeployedRBACSuffices},
		{"LeaderElectionAsDeployed", h.LeaderElectionAsDeployed},
		{"IdleReconcileMakesNoRequest", h.IdleReconcileMakesNoRequest},
		{"SourceClone", func(t *testing.T) { h.SourceClone(t, c.Source) }},
		{"SourceSnapshot", func(t *testing.T) { h.SourceSnapshot(t, c.Source) }},
		{"SourceDirect", func(t *testing.T) { h.SourceDirect(t, c.Source) }},
		{"SourceSchedule", h.SourceSchedule},
		{"Paused", h.Paused},
		{"DestinationSnapshot", func(t *testing.T) { h.DestinationLifecycle(t, c.Destination) }},
		{"DestinationDirectQuietAtRest", func(t *testing.T) { h.DestinationDirect(t, c.Destination) }},
		{"BadVolumeInput", h.BadVolumeInput},
		{"MoverFailureBackoff", h.MoverFailureBackoff},
		{"OtherMoversIgnored", h.OtherMoversIgnored},
		{"StalledJobReplaced", h.StalledJobReplaced},
		{"PrivilegedMover", func(t *testing.T) { h.PrivilegedMover(t, c.PrivilegedCaps) }},
	} {
		t.Run(s.name, s.run)
	}
}
