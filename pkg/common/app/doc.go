// Package app is the shared main of the mover controllers: flags, scheme, manager, caches,
// client and the two reconcilers, so a controller's main.go is its RBAC markers and a few lines.
package app
