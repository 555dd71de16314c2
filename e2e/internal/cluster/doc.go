// Package cluster connects the e2e suites to the local cluster: clients, namespaces at a Pod Security level, polling with deadlines, events and cleanup.
package cluster
