package peer

import (
	"bufio"
	"net"
	"net/netip"
	"time"
)

// StreamMagic is the first four bytes of a connection to the chat port
// that carries a stream (file data) instead of framed packets. A packet
// connection starts with a frame length, which is at most wire.MaxPacket,
// so its first byte is 0: the two cannot be confused.
const StreamMagic = "p2pf"

// StreamHandler takes over an accepted connection that starts with
// StreamMagic; r holds what was read from nc so far (the magic included,
// unconsumed). It owns nc from then on and must close it.
type StreamHandler func(nc net.Conn, r *bufio.Reader, from netip.AddrPort)

// HandleStreams makes accepted connections that start with StreamMagic go
// to h instead of the packet reader. Until it is called they are closed.
func (t *NetTransport) HandleStreams(h StreamHandler) {
	t.mu.Lock()
	t.streams = h
	t.mu.Unlock()
}

// handOff reports whether the accepted connection c is a stream, and if so
// gives it to the stream handler: c forgets it, so closing c leaves it open.
func (c *tcpConn) handOff(r *bufio.Reader) bool {
	_ = c.nc.SetReadDeadline(c.authBy) // the first four bytes come within tcpAuthTimeout
	head, err := r.Peek(len(StreamMagic))
	if err != nil || string(head) != StreamMagic {
		return false
	}
	c.t.mu.Lock()
	h := c.t.streams
	c.t.mu.Unlock()
	if h == nil {
		return false // the packet reader refuses the bad frame length
	}
	c.mu.Lock()
	nc := c.nc
	c.nc = nil
	c.mu.Unlock()
	_ = nc.SetReadDeadline(time.Time{})
	go h(nc, r, c.addr)
	return true
}
