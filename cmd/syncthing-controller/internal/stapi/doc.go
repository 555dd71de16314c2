// Package stapi is the controller's client of a syncthing mover's REST API: HTTPS with the
// certificate the controller generated pinned (no other certificate is trusted), the API key
// header, short timeouts. It reads the configuration, the device ID, the connections and the
// folder's completion, and applies a configuration (Desired) with one PUT when it differs.
package stapi
