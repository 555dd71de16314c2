// Package apitests checks the generated CRDs against a real kube-apiserver: the documented
// examples apply, invalid objects are rejected with clear errors, and nothing is lost.
package apitests
