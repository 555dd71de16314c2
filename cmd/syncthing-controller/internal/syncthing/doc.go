// Package syncthing is the Syncthing mover of ReplicationSources (spec.syncthing): a
// Deployment running syncthing on the source volume (pkg/common/steady), its config PVC, the
// generated Secret (API key, GUI credentials, API certificate), the API and data Services,
// and the configuration the controller applies through syncthing's REST API (stapi): the
// user's peers, the folder shared with them. status.syncthing shows the device ID, the
// address peers connect to and every peer's connection; the Synchronizing condition,
// lastSyncTime and volsync_volume_out_of_sync follow whether the data is in sync (InSync).
package syncthing
