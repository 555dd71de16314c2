package rsynctls_test

import (
	"syscall"
	"unsafe"
)

func utimensatNofollow(path string, ts []syscall.Timespec) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	fd := -100 // AT_FDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&ts[0])), 0x100, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
