package peer

import (
	"errors"
	"net"

	"golang.org/x/net/ipv4"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg call moves at most.
const batchSize = 32

// readUDPLoop reads datagrams from u in batches (recvmmsg: one system call
// takes whatever has arrived, up to batchSize). While a batch of several is
// handled, what the node sends (acknowledgements, the next messages of the
// window) is collected and leaves in one sendmmsg per socket at the end; a
// lone datagram is handled as before, its answers sent at once.
func (t *NetTransport) readUDPLoop(u *net.UDPConn, h func(Packet)) {
	defer t.wg.Done()
	pc := t.bc6
	if u == t.udp {
		pc = t.bc4
	}
	msgs := make([]ipv4.Message, batchSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	var out4, out6 []ipv4.Message
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
			out4, out6 = t.writeBatches(pending, out4[:0], out6[:0])
		}
	}
}

// writeBatches sends the datagrams, each on the socket of its address
// family, with as few sendmmsg calls as it can.
func (t *NetTransport) writeBatches(ds []datagram, ms4, ms6 []ipv4.Message) ([]ipv4.Message, []ipv4.Message) {
	for _, d := range ds {
		u, to := t.socketFor(d.to)
		m := ipv4.Message{Buffers: [][]byte{d.b}, Addr: net.UDPAddrFromAddrPort(to)}
		switch {
		case u == nil:
			t.log.Debug("udp batch send: no socket for the address family", "to", d.to)
		case u == t.udp:
			ms4 = append(ms4, m)
		default:
			ms6 = append(ms6, m)
		}
	}
	if len(ms4) > 0 {
		t.writeBatch(t.bc4, ms4)
	}
	if len(ms6) > 0 {
		t.writeBatch(t.bc6, ms6)
	}
	return ms4, ms6
}

// writeBatch sends ms on pc.
func (t *NetTransport) writeBatch(pc batchConn, ms []ipv4.Message) {
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
}
