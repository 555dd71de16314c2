// Package syncthing is the Syncthing mover's part of the controller <-> mover contract: where
// the configuration, the API certificate and the data are, the environment the controller
// sets, the ports, the shared folder's ID and the keys of the Secret the controller generates.
// Dependency-free, imported by cmd/syncthing-controller and images/syncthing.
package syncthing
