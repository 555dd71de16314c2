// Package rbac provides the ServiceAccount that mover pods run as (and the copies of the image pull Secrets it lists).
package rbac
