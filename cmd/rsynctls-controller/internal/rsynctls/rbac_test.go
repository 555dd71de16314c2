package rsynctls

import "testing"

// TestControllerRunsAsDeployed: the controller under test really is limited to the deployed
// ClusterRole (so the other tests prove it suffices).
func TestControllerRunsAsDeployed(t *testing.T) { h.RunsAsDeployed(t) }

// TestDeployedRBACSuffices runs a destination and a source through a sync with the deployed
// permissions (lifecycle.Harness.DeployedRBACSuffices).
func TestDeployedRBACSuffices(t *testing.T) { h.DeployedRBACSuffices(t) }

// TestLeaderElectionAsDeployed: with the deployed permissions a replica takes the lease in
// the controller's namespace.
func TestLeaderElectionAsDeployed(t *testing.T) { h.LeaderElectionAsDeployed(t) }
