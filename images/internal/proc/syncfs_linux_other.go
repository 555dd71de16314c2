//go:build linux && !amd64 && !arm64

package proc

// sysSyncfs 0 makes SyncFS fall back to sync(2).
const sysSyncfs = 0
