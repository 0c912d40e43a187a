//go:build linux

package shell

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// writeNow writes b to out. Where out is a pipe with room for all of b, it
// does so with one raw system call, which the Go scheduler does not see:
// the goroutine keeps its processor, so the shown mark that follows
// (printer.marks) is written the moment the output is out. With an
// ordinary write, a write that takes a moment hands the processor
// (p2pchat runs on one) to another goroutine, which may run for a
// millisecond or more while the lines are out but not marked; a kill -9
// then, and the next run shows them again. (A kill that lands during the
// write itself still does: the kernel completes the write, not the mark.)
// Anything that could block goes the ordinary way: a full pipe, a
// terminal, and a regular file too (writeback throttling after a large
// transfer, an NFS or FUSE home, a slow disk). Raw, such a write would stop
// every goroutine (timers, heartbeats, the network) until it returns; a
// stall of the whole process is worse than the wider duplicate-after-kill
// window of the ordinary write.
func writeNow(out io.Writer, b []byte) error {
	f, ok := out.(*os.File)
	if !ok || len(b) == 0 {
		_, err := out.Write(b)
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		_, err := out.Write(b)
		return err
	}
	done := 0
	if cerr := rc.Control(func(fd uintptr) {
		if !wontBlock(fd, len(b)) {
			return
		}
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if errno == 0 {
			done = int(n)
		}
	}); cerr != nil {
		done = 0
	}
	if done == len(b) {
		return nil
	}
	_, err = out.Write(b[done:]) // the rest, or all of it, the ordinary way
	return err
}

// wontBlock reports whether writing size bytes to fd cannot block: only a
// pipe whose free space (with a page to spare: the pipe counts in pages)
// holds them. A regular file can block (see writeNow).
func wontBlock(fd uintptr, size int) bool {
	var st syscall.Stat_t
	if syscall.Fstat(int(fd), &st) != nil {
		return false
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		const fGetPipeSz = 1032 // F_GETPIPE_SZ
		capacity, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSz, 0)
		if errno != 0 {
			return false
		}
		var unread int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&unread))); errno != 0 {
			return false
		}
		const page = 4096
		used := (int(unread) + page - 1) / page * page
		return size+page <= int(capacity)-used
	}
	return false
}
