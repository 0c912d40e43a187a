//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package discovery

import (
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// reuse lets several sockets bind the mDNS port (avahi-daemon, another
// p2pchat): SO_REUSEADDR, and on the BSDs SO_REUSEPORT too, which they
// need for a wildcard address.
func reuse(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr == nil && runtime.GOOS != "linux" {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
