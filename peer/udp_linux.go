package peer

import (
	"errors"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg call moves at most.
const batchSize = 32

// readUDPLoop reads datagrams in batches (recvmmsg: one system call takes
// whatever has arrived, up to batchSize). While a batch of several is
// handled, what the node sends (acknowledgements, the next messages of the
// window) is collected and leaves in one sendmmsg at the end; a lone
// datagram is handled as before, its answers sent at once.
func (t *NetTransport) readUDPLoop(h func(Packet)) {
	defer t.wg.Done()
	pc := ipv4.NewPacketConn(t.udp)
	msgs := make([]ipv4.Message, batchSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	var out []ipv4.Message
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Debug("udp read", "err", err)
			continue
		}
		if n > 1 {
			t.bmu.Lock()
			t.batching = true
			t.bmu.Unlock()
		}
		for _, m := range msgs[:n] {
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			t.handleDatagram(h, m.Buffers[0][:m.N], ua.AddrPort())
		}
		if n > 1 {
			t.bmu.Lock()
			pending := t.pending
			t.pending, t.batching = nil, false
			t.bmu.Unlock()
			out = t.writeBatch(pc, pending, out[:0])
		}
	}
}

// writeBatch sends the datagrams with as few sendmmsg calls as it can.
func (t *NetTransport) writeBatch(pc *ipv4.PacketConn, ds []datagram, ms []ipv4.Message) []ipv4.Message {
	for _, d := range ds {
		ms = append(ms, ipv4.Message{Buffers: [][]byte{d.b}, Addr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(d.to.Addr().Unmap(), d.to.Port()))})
	}
	for rest := ms; len(rest) > 0; {
		n, err := pc.WriteBatch(rest, 0)
		if err != nil {
			t.log.Debug("udp batch send", "err", err)
			if n <= 0 {
				n = 1 // skip the datagram that failed; reliability is the node's job
			}
		}
		rest = rest[n:]
	}
	return ms
}
