package peer

import "net/netip"

// Packet is one packet that arrived, over UDP or TCP.
type Packet struct {
	Data []byte         // the packet; valid only until the handler returns
	From netip.AddrPort // sender's address (for TCP the connection's remote end)
	TCP  bool           // arrived over TCP
	// Reply sends a packet back the way this one came: to From over UDP, or
	// on the same TCP connection. It never blocks.
	Reply func([]byte)
	// Authenticated, when set, is called by the handler once the packet
	// opened under its sender's key: the connection it came on carries a
	// peer (any key, in the book or not), not a stranger's idle socket.
	// The real transport sets it on accepted TCP connections, and closes
	// those that carry no such packet within tcpAuthTimeout.
	Authenticated func()
}

// Transport moves packets between nodes. Sends never block: a packet that
// cannot be queued is dropped, and reliability is the node's job.
type Transport interface {
	// Serve starts delivering incoming packets to h, from any goroutine.
	Serve(h func(Packet))
	// SendUDP sends one datagram.
	SendUDP(to netip.AddrPort, b []byte) error
	// SendTCP sends one packet over a (cached) TCP connection to to; packets
	// arriving on that connection are delivered to the handler as well.
	SendTCP(to netip.AddrPort, b []byte) error
	// Forget closes a cached TCP connection to addr, if any: the peer there
	// restarted, and the connection may lead to its old process.
	Forget(addr netip.AddrPort)
	// LocalPort is the port number used for both UDP and TCP.
	LocalPort() int
	// Close stops the transport, giving queued TCP packets a moment to leave.
	Close() error
}

var (
	_ Transport = (*NetTransport)(nil)
	_ Transport = (*MemTransport)(nil)
)
