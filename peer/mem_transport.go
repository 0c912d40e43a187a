package peer

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
)

// MemNet is an in-memory network for tests: endpoints exchange packets
// through channels, and faults (loss, blocked UDP) can be switched on per
// endpoint. It behaves like a LAN: no reordering beyond what loss causes.
//
// Concurrency: mu guards every field of the MemNet and the faults and
// counters of its endpoints (MemTransport). It is a leaf: tap and drop
// are called without it (with the sending node's lock held), and no
// packet is handed to a node under it.
type MemNet struct {
	mu    sync.Mutex
	nodes map[netip.AddrPort]*MemTransport
	rng   *rand.Rand
	next  byte
	tap   func(from, to netip.AddrPort, b []byte, tcp bool)
	drop  func(from, to netip.AddrPort, b []byte, tcp bool) bool
}

// Tap calls f with a copy of every packet sent (delivered or not), like a
// capture of the LAN.
func (m *MemNet) Tap(f func(from, to netip.AddrPort, b []byte, tcp bool)) {
	m.mu.Lock()
	m.tap = f
	m.mu.Unlock()
}

// DropIf drops every packet for which f returns true (f sees a copy; it
// runs outside the network's lock, and may be called with the sender's
// node locked: it must not call into a node).
func (m *MemNet) DropIf(f func(from, to netip.AddrPort, b []byte, tcp bool) bool) {
	m.mu.Lock()
	m.drop = f
	m.mu.Unlock()
}

// NewMemNet makes an empty in-memory network; seed makes loss repeatable.
func NewMemNet(seed uint64) *MemNet {
	return &MemNet{nodes: map[netip.AddrPort]*MemTransport{}, rng: rand.New(rand.NewPCG(seed, seed))}
}

// Listen attaches a new endpoint with its own address.
func (m *MemNet) Listen() *MemTransport {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, m.next}), DefaultPort)
	t := &MemTransport{net: m, addr: addr, inbox: make(chan Packet, 4096), done: make(chan struct{})}
	m.nodes[addr] = t
	return t
}

// MemTransport is one endpoint of a MemNet.
type MemTransport struct {
	// Immutable after Listen (inbox and done are channels; done is closed
	// once, by Close).
	net   *MemNet
	addr  netip.AddrPort
	inbox chan Packet
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup // the Serve goroutine; Close waits for it

	// faults, guarded by net.mu
	lossPct   int  // share of incoming UDP dropped
	blockUDP  bool // drop all incoming UDP
	blockTCP  bool // drop all incoming TCP
	sentUDP   int
	sentTCP   int
	unplugged bool // neither sends nor receives
}

// Addr is the endpoint's address.
func (t *MemTransport) Addr() netip.AddrPort { return t.addr }

// SetLoss drops pct percent of the UDP packets arriving at t.
func (t *MemTransport) SetLoss(pct int) { t.net.mu.Lock(); t.lossPct = pct; t.net.mu.Unlock() }

// BlockUDP drops every UDP packet arriving at t while on.
func (t *MemTransport) BlockUDP(on bool) { t.net.mu.Lock(); t.blockUDP = on; t.net.mu.Unlock() }

// Unplug cuts t off the network entirely while on.
func (t *MemTransport) Unplug(on bool) { t.net.mu.Lock(); t.unplugged = on; t.net.mu.Unlock() }

// Sent reports how many packets t sent over UDP and TCP.
func (t *MemTransport) Sent() (udp, tcp int) {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	return t.sentUDP, t.sentTCP
}

// Serve implements Transport.
func (t *MemTransport) Serve(h func(Packet)) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			select {
			case <-t.done:
				return
			case p := <-t.inbox:
				h(p)
			}
		}
	}()
}

func (t *MemTransport) deliver(to netip.AddrPort, b []byte, tcp bool) error {
	m := t.net
	m.mu.Lock()
	dst := m.nodes[to]
	if tcp {
		t.sentTCP++
	} else {
		t.sentUDP++
	}
	drop := dst == nil || t.unplugged || dst.unplugged ||
		(tcp && dst.blockTCP) ||
		(!tcp && (dst.blockUDP || (dst.lossPct > 0 && m.rng.IntN(100) < dst.lossPct)))
	tap, dropIf := m.tap, m.drop
	m.mu.Unlock()
	if tap != nil {
		tap(t.addr, to, append([]byte(nil), b...), tcp)
	}
	if dropIf != nil && dropIf(t.addr, to, append([]byte(nil), b...), tcp) {
		drop = true
	}
	if dst == nil && tcp {
		return fmt.Errorf("peer: tcp to %s: connection refused", to)
	}
	if drop {
		return nil
	}
	data := append([]byte(nil), b...)
	from := t.addr
	reply := func(r []byte) { _ = dst.deliver(from, r, tcp) }
	select {
	case dst.inbox <- Packet{Data: data, From: from, TCP: tcp, Reply: reply}:
	case <-dst.done:
	default: // receiver overwhelmed: dropped, like a full socket buffer
	}
	return nil
}

// SendUDP implements Transport.
func (t *MemTransport) SendUDP(to netip.AddrPort, b []byte) error { return t.deliver(to, b, false) }

// SendTCP implements Transport.
func (t *MemTransport) SendTCP(to netip.AddrPort, b []byte) error { return t.deliver(to, b, true) }

// Forget implements Transport (in memory there are no connections).
func (t *MemTransport) Forget(netip.AddrPort) {}

// LocalPort implements Transport.
func (t *MemTransport) LocalPort() int { return int(t.addr.Port()) }

// Close implements Transport. It returns once the handler has returned.
func (t *MemTransport) Close() error {
	t.once.Do(func() {
		close(t.done)
		t.net.mu.Lock()
		delete(t.net.nodes, t.addr)
		t.net.mu.Unlock()
	})
	t.wg.Wait()
	return nil
}
