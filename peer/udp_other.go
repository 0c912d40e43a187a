//go:build !linux

package peer

import (
	"errors"
	"net"
)

// readUDPLoop reads one datagram per system call (no recvmmsg here).
func (t *NetTransport) readUDPLoop(u *net.UDPConn, h func(Packet)) {
	defer t.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := u.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Debug("udp read", "err", err)
			continue
		}
		t.handleDatagram(h, buf[:n], from)
	}
}
