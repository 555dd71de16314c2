// Package testenv starts a real kube-apiserver and etcd (controller-runtime envtest) with the
// project's CRDs and the VolumeSnapshot CRDs installed, for integration tests.
package testenv
