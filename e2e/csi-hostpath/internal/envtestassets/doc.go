// Package envtestassets finds the kube-apiserver and etcd binaries for the driver's envtest
// tests: KUBEBUILDER_ASSETS, or what the repository's hack/k8s-bins.sh builds (this module does
// not depend on the monorepo's pkg module, whose testenv does the same).
package envtestassets
