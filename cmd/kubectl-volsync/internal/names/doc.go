// Package names parses the CLI's object names, [context/]namespace/name, which say on which
// cluster (kubeconfig context) and in which namespace an object lives.
package names
