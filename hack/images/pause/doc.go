// Command pause is the pod sandbox process: it holds the pod's namespaces open, reaps zombies and
// exits on SIGINT/SIGTERM. It replaces registry.k8s.io/pause on a machine without a registry.
package main
