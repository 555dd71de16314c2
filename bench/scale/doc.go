// Command scale measures the control-plane cost of a VolSync controller binary against a real kube-apiserver and etcd.
package main
