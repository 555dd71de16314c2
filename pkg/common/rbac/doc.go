// Package rbac provides the ServiceAccount (with its placeholder Role and RoleBinding) that mover pods run as.
package rbac
