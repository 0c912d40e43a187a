package shell

import (
	"os"
	"syscall"
	"time"
)

// PollableStdin opens standard input anew, when it is a pipe or a terminal,
// as a file of its own in non-blocking mode, so that the Go runtime waits
// for input in its network poller instead of a thread blocked in read(2).
// A blocked read holds a processor: with GOMAXPROCS=1 nothing else (the
// packets of peers) would run until the scheduler took it back, up to
// 10 ms later. The new open file description is this process's alone:
// its O_NONBLOCK does not leak to the shell that shares file descriptor 0.
// It reports false, and returns os.Stdin, where that is not possible
// (a regular file, /dev/null, a socket): reads from those do not wait.
func PollableStdin() (*os.File, bool) {
	var st syscall.Stat_t
	if err := syscall.Fstat(0, &st); err != nil {
		return os.Stdin, false
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFIFO, syscall.S_IFCHR:
	default:
		return os.Stdin, false
	}
	f, err := os.OpenFile("/proc/self/fd/0", os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return os.Stdin, false
	}
	if f.SetReadDeadline(time.Time{}) != nil { // not in the poller: no gain
		f.Close()
		return os.Stdin, false
	}
	return f, true
}
