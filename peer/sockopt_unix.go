//go:build unix

package peer

import (
	"fmt"
	"net"
	"syscall"
)

// noBroadcast clears SO_BROADCAST, which Go sets on every UDP socket: a
// chat socket sends to one peer at a time, so a datagram to a broadcast
// address (a peer-exchange lead, say) fails instead of reaching every host
// on the link.
func noBroadcast(u *net.UDPConn) error {
	raw, err := u.SyscallConn()
	if err != nil {
		return fmt.Errorf("peer: udp socket: %w", err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 0)
	}); err != nil {
		return fmt.Errorf("peer: udp socket: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("peer: clear SO_BROADCAST: %w", serr)
	}
	return nil
}
