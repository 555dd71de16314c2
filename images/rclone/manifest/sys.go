package manifest

import (
	"os"
	"syscall"
	"unsafe"
)

const (
	atFDCWD           = -100
	atSymlinkNofollow = 0x100
	// utimeOmit leaves a time unchanged (UTIME_OMIT).
	utimeOmit = (1 << 30) - 2
)

// setMtime sets the modification time of p itself (not a symlink's target) to ns nanoseconds
// since the epoch, leaving its access time alone.
func setMtime(p string, ns int64) error {
	ts := [2]syscall.Timespec{{Nsec: utimeOmit}, syscall.NsecToTimespec(ns)}
	b, err := syscall.BytePtrFromString(p)
	if err != nil {
		return err
	}
	fd := atFDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(b)),
		uintptr(unsafe.Pointer(&ts[0])), atSymlinkNofollow, 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "utimensat", Path: p, Err: errno}
	}
	return nil
}

// stat is what the manifest needs of an lstat.
type stat struct {
	typ   Type // "" for an entry the manifest does not record (socket, FIFO, device)
	mode  uint32
	uid   uint32
	gid   uint32
	mtime int64
	size  int64
	dev   uint64
}

func lstat(p string) (stat, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return stat{}, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	return fromStat(&st), nil
}

func fromStat(st *syscall.Stat_t) stat {
	s := stat{
		mode:  st.Mode & 0o7777,
		uid:   st.Uid,
		gid:   st.Gid,
		mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec,
		dev:   st.Dev,
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		s.typ = Dir
	case syscall.S_IFREG:
		s.typ = File
		s.size = st.Size
	case syscall.S_IFLNK:
		s.typ = Symlink
	}
	return s
}

// chmod sets p's mode to m (07777 bits).
func chmod(p string, m uint32) error {
	if err := syscall.Chmod(p, m); err != nil {
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	return nil
}
