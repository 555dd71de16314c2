// Package audit reads a kube-apiserver JSON audit log and counts one user's requests by verb and resource.
package audit
