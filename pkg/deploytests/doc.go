// Package deploytests builds every kustomize overlay and applies it server-side to a real API
// server, so a broken manifest fails the tests instead of a user's kubectl apply. Its Render
// and AsDeployed helpers let controller tests run with exactly the permissions an overlay
// grants.
package deploytests
