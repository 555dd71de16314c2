package proc

import (
	"fmt"
	"os"
	"syscall"
)

// SyncFS flushes the filesystem holding path to stable storage, so a snapshot taken right after
// the mover exits holds the data.
func SyncFS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening %s for syncfs: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	if sysSyncfs == 0 {
		syscall.Sync()
		return nil
	}
	if _, _, errno := syscall.Syscall(sysSyncfs, f.Fd(), 0, 0); errno != 0 {
		return fmt.Errorf("syncfs %s: %w", path, errno)
	}
	return nil
}
